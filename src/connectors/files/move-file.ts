// Move a file, across file systems too (a rename cannot cross them: EXDEV), so scratch space may live anywhere.
import { copyFile, rename, rm } from 'node:fs/promises';

export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}
