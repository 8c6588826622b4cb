// One paginator per `paginate.type`. Offset and page numbers are predictable (request k is known without response
// k-1), so they can be fetched ahead; cursor, next-URL and Link-header pagination depend on each response and are
// sequential. Each paginator also says what to store so that a killed run resumes at the next request.
import { valueAt } from '../../http/json-path.js';
import type { Paginate } from './rest-spec.js';

export interface PageRequest {
  url: URL;
  /** Ordinal of the page in the stream's pagination, from 1. */
  page: number;
  /** Offset or page number of a predictable request. */
  at?: number;
}

export interface PageResponse {
  body: unknown;
  headers: Headers;
  count: number;
}

/** What a checkpoint keeps of the next request. */
export interface ResumePoint {
  page: number;
  url?: string;
  at?: number;
}

export interface Paginator {
  /** Requests can be computed ahead (`nth`). */
  readonly predictable: boolean;
  first(): PageRequest;
  /** The k-th request after the first (predictable paginators only). */
  nth(k: number): PageRequest;
  /** The request after `req`, or undefined when the stream is complete. */
  next(req: PageRequest, res: PageResponse): PageRequest | undefined;
  resumePoint(req: PageRequest): ResumePoint;
}

export interface PaginatorOptions {
  /** The first request's URL (path + params, templates filled). */
  base: URL;
  stopOnEmpty: boolean;
  resume?: ResumePoint;
  /** Removes parameters a server echoes that must not be stored (an API key in the query). */
  clean: (url: URL) => URL;
}

export function paginator(p: Paginate, o: PaginatorOptions): Paginator {
  const startPage = o.resume?.page ?? 1;
  switch (p.type) {
    case 'offset':
    case 'page': {
      const step = p.type === 'offset' ? p.limit : 1;
      const origin = o.resume?.at ?? p.start;
      const size = p.type === 'offset' ? p.limit : p.size;
      const nth = (k: number): PageRequest => {
        const url = new URL(o.base);
        const at = origin + k * step;
        if (p.type === 'offset') {
          url.searchParams.set(p.limit_param, String(p.limit));
          url.searchParams.set(p.offset_param, String(at));
        } else {
          url.searchParams.set(p.param, String(at));
          if (p.size !== undefined && p.size_param) url.searchParams.set(p.size_param, String(p.size));
        }
        return { url, page: startPage + k, at };
      };
      return {
        predictable: true,
        first: () => nth(0),
        nth,
        next(req, res) {
          if (res.count === 0 || (size !== undefined && res.count < size)) return undefined;
          return nth(req.page - startPage + 1);
        },
        resumePoint: (req) => ({ page: req.page, at: req.at }),
      };
    }
    case 'cursor':
    case 'next_url':
    case 'link_header': {
      const sequential = (): never => {
        throw new Error('sequential pagination has no nth request');
      };
      return {
        predictable: false,
        first: () => ({ url: o.resume?.url ? new URL(o.resume.url) : new URL(o.base), page: startPage }),
        nth: sequential,
        next(req, res) {
          if (o.stopOnEmpty && res.count === 0) return undefined;
          let url: URL | undefined;
          if (p.type === 'cursor') {
            const token = valueAt(res.body, p.path);
            if (token === undefined || token === null || token === '') return undefined;
            url = new URL(req.url);
            url.searchParams.set(p.param, String(token));
          } else {
            const link = p.type === 'next_url' ? valueAt(res.body, p.path) : linkRel(res.headers.get('link'), p.rel);
            if (typeof link !== 'string' || link === '') return undefined;
            url = o.clean(new URL(link, req.url));
          }
          // A server that hands back the same page forever would loop: that is the end of what it can give.
          if (url.toString() === req.url.toString()) return undefined;
          return { url, page: req.page + 1 };
        },
        resumePoint: (req) => ({ page: req.page, url: req.url.toString() }),
      };
    }
    case 'none':
      return {
        predictable: false,
        first: () => ({ url: new URL(o.base), page: 1 }),
        nth: () => ({ url: new URL(o.base), page: 1 }),
        next: () => undefined,
        resumePoint: (req) => ({ page: req.page }),
      };
  }
}

/** The target of `rel` in an RFC 8288 Link header: `<https://…?page=2>; rel="next", <…>; rel="last"`. */
export function linkRel(header: string | null, rel: string): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const params = m[2];
    const r = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (r?.[1] ?? r?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rels.includes(rel.toLowerCase())) return m[1];
  }
  return undefined;
}
