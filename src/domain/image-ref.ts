// Docker image references (distribution's reference grammar): checked when a version is created, and parsed by
// the worker to find the registry a pull goes to and the credentials for it.
import { z } from 'zod';

const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/**
 * `[registry[:port]/]path[:tag][@digest]`, path components lower case. The first component is the registry when it
 * has a dot or a port or is `localhost` (as Docker reads it); OpenAPI shows this same pattern.
 */
export const IMAGE_REFERENCE_PATTERN = `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`;
export const IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);
export const IMAGE_REFERENCE_MESSAGE =
  'an image reference is [registry[:port]/]name[:tag][@digest], the name in lower case (e.g. 127.0.0.1:5000/team/tool:1.0)';

/** A Docker image reference, as every schema that names an image checks it (max 512, as Docker's own limit). */
export const ImageRefSchema = z.string().min(1).max(512).regex(IMAGE_REFERENCE, IMAGE_REFERENCE_MESSAGE);

/** Docker Hub, whatever name the reference or a credential gives it. */
export const DOCKER_HUB = 'docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export interface ImageReference {
  /** The registry host (with its port), `docker.io` when the reference names none. */
  registry: string;
  /** The repository within the registry. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** A registry host as credentials are matched by it: lower case, Docker Hub's aliases as one. */
export function normalizeRegistry(host: string): string {
  const h = host
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/** The parts of a valid reference; undefined when it is not one. */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (ref.length > 512 || !IMAGE_REFERENCE.test(ref)) return undefined;
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.indexOf('/');
  const first = slash >= 0 ? named.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const rest = hasRegistry ? named.slice(slash + 1) : named;
  const colon = rest.lastIndexOf(':');
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  const path = colon >= 0 ? rest.slice(0, colon) : rest;
  return {
    registry: hasRegistry ? normalizeRegistry(first) : DOCKER_HUB,
    repository: !hasRegistry && !path.includes('/') ? `library/${path}` : path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** Registry host names as a credential may give them: a host name or IP, an optional port. */
export const REGISTRY_HOST_PATTERN = `^${DOMAIN}$`;
