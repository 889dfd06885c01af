// CPython's heapq algorithm, so queue_pending has exactly the real server's (unsorted) order.
import type { Task } from './types.ts';

function less(a: Task, b: Task): boolean {
  // Python compares the tuples: number first, then prompt_id.
  if (a.item[0] !== b.item[0]) return a.item[0] < b.item[0];
  return a.item[1] < b.item[1];
}

function siftDown(heap: Task[], startPos: number, pos: number): void {
  const newItem = heap[pos]!;
  while (pos > startPos) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos]!;
    if (less(newItem, parent)) {
      heap[pos] = parent;
      pos = parentPos;
      continue;
    }
    break;
  }
  heap[pos] = newItem;
}

function siftUp(heap: Task[], pos: number): void {
  const endPos = heap.length;
  const startPos = pos;
  const newItem = heap[pos]!;
  let childPos = 2 * pos + 1;
  while (childPos < endPos) {
    const rightPos = childPos + 1;
    if (rightPos < endPos && !less(heap[childPos]!, heap[rightPos]!)) childPos = rightPos;
    heap[pos] = heap[childPos]!;
    pos = childPos;
    childPos = 2 * pos + 1;
  }
  heap[pos] = newItem;
  siftDown(heap, startPos, pos);
}

export function heapPush(heap: Task[], t: Task): void {
  heap.push(t);
  siftDown(heap, 0, heap.length - 1);
}

export function heapPop(heap: Task[]): Task | undefined {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return last;
  const top = heap[0]!;
  heap[0] = last;
  siftUp(heap, 0);
  return top;
}

export function heapify(heap: Task[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftUp(heap, i);
}
