// Workflow graphs: the default one the simulation runs, and what the executor derives from a graph.
import type { ComfyGraph } from './types.ts';

export const OUTPUT_NODE_TYPES = new Set([
  'SaveImage',
  'PreviewImage',
  'SaveAnimatedWEBP',
  'SaveAnimatedPNG',
  'SaveVideo',
  'SaveAudio',
  'SaveText',
]);

/** A minimal text-to-image graph, the shape ComfyUI's own API example posts. */
export function defaultGraph(seed = 42): ComfyGraph {
  return {
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed,
        steps: 20,
        cfg: 8,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
      _meta: { title: 'KSampler' },
    },
    '4': {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' },
      _meta: { title: 'Load Checkpoint' },
    },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 }, _meta: { title: 'Empty Latent Image' } },
    '6': {
      class_type: 'CLIPTextEncode',
      inputs: { text: 'a lighthouse at dusk, oil painting', clip: ['4', 1] },
      _meta: { title: 'CLIP Text Encode (Prompt)' },
    },
    '7': {
      class_type: 'CLIPTextEncode',
      inputs: { text: 'blurry, low quality', clip: ['4', 1] },
      _meta: { title: 'CLIP Text Encode (Prompt)' },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] }, _meta: { title: 'VAE Decode' } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, _meta: { title: 'Save Image' } },
  };
}

/** The output nodes of a graph: what POST /prompt queues as outputs_to_execute. */
export function outputNodes(graph: ComfyGraph): string[] {
  return Object.keys(graph).filter((k) => OUTPUT_NODE_TYPES.has(classOf(graph, k)));
}

/** Node ids in an order the executor could run them: dependencies first, outputs last. */
export function executionOrder(graph: ComfyGraph, outputs: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string, depth: number) => {
    if (seen.has(id) || depth > 1000 || !(id in graph)) return;
    seen.add(id);
    for (const v of Object.values(graph[id]?.inputs ?? {})) {
      if (Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number')) visit(String(v[0]), depth + 1);
    }
    order.push(id);
  };
  for (const o of outputs) visit(o, 0);
  return order;
}

export function classOf(graph: ComfyGraph, id: string): string {
  return graph[id]?.class_type ?? 'Unknown';
}

/**
 * Each node's cache key, as ComfyUI's classic cache builds it (CacheKeySetInputSignature): its class
 * and inputs, with each link replaced by the key of the node it comes from. Two runs share a node's
 * output when its key is the same.
 */
export function cacheKeys(graph: ComfyGraph, nodes: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const keyOf = (id: string, depth: number): string => {
    const known = keys.get(id);
    if (known !== undefined) return known;
    const inputs = Object.entries(graph[id]?.inputs ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, v]): unknown[] => {
        const link: unknown = v;
        return Array.isArray(link) && link.length === 2 && (typeof link[0] === 'string' || typeof link[0] === 'number') && depth < 1000
          ? [name, keyOf(String(link[0]), depth + 1), link[1]]
          : [name, link];
      });
    const key = JSON.stringify([classOf(graph, id), inputs]);
    keys.set(id, key);
    return key;
  };
  for (const n of nodes) keyOf(n, 0);
  return keys;
}
