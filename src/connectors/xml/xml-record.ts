// How an element tree becomes a row. Attributes become `@name` columns (the prefix is configurable), child elements
// columns by name; a child with attributes or children of its own is flattened into `parent.child` /
// `parent.@attr` columns, or kept whole as a json value with `nested: json`; a child that repeats becomes a json
// array of its values (elements listed in `arrays` always do, so the column's type does not depend on the record).
import type { Row } from '../../core/types.js';
import { setKey } from '../../core/record.js';

export interface XmlShape {
  attributePrefix: string;
  /** Key of an element's own text when it also has attributes or children. */
  textKey: string;
  nested: 'flatten' | 'json';
  /** Element names that are always arrays. */
  arrays: ReadonlySet<string>;
  trim: boolean;
  names: 'local' | 'qualified';
}

/** An element being read inside a record. */
export interface XmlNode {
  name: string;
  attrs: [string, string][];
  /** Child values by element name, in order of first appearance. */
  children: Map<string, unknown[]>;
  text: string;
  sawText: boolean;
}

type Value = string | null | Record<string, unknown> | unknown[];

export const newNode = (name: string, attrs: [string, string][]): XmlNode => ({ name, attrs, children: new Map(), text: '', sawText: false });


/** A finished child element: its value joins the parent's children. */
export function closeNode(parent: XmlNode, child: XmlNode, shape: XmlShape): void {
  const list = parent.children.get(child.name);
  const value = valueOf(child, shape);
  if (list) list.push(value);
  else parent.children.set(child.name, [value]);
}

const ownText = (node: XmlNode, shape: XmlShape): string | undefined => {
  // Whitespace between child elements is indentation, not data.
  if (node.text.trim().length === 0) return undefined;
  return shape.trim ? node.text.trim() : node.text;
};

function valueOf(node: XmlNode, shape: XmlShape): Value {
  if (node.attrs.length === 0 && node.children.size === 0) {
    // `<x/>` and `<x></x>` are NULL; `<x> </x>` is the empty string once trimmed.
    if (!node.sawText) return null;
    return shape.trim ? node.text.trim() : node.text;
  }
  return fields(node, shape, {});
}

/** Attributes, children and text of `node` as keys of `into`. */
function fields(node: XmlNode, shape: XmlShape, into: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of node.attrs) setKey(into, shape.attributePrefix + k, v);
  for (const [k, values] of node.children) setKey(into, k, values.length > 1 || shape.arrays.has(k) ? values : values[0]);
  const text = ownText(node, shape);
  if (text !== undefined) setKey(into, shape.textKey, text);
  return into;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function flattenInto(row: Row, prefix: string, value: Record<string, unknown>, shape: XmlShape): void {
  for (const [k, v] of Object.entries(value)) {
    const key = k === shape.textKey ? prefix : `${prefix}.${k}`;
    if (isObject(v)) flattenInto(row, key, v, shape);
    else setKey(row, key, v);
  }
}

/** The record element as a row. */
export function buildRow(node: XmlNode, shape: XmlShape): Row {
  const obj = fields(node, shape, {});
  if (shape.nested === 'json') return obj;
  const row: Row = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isObject(v)) flattenInto(row, k, v, shape);
    else setKey(row, k, v);
  }
  return row;
}
