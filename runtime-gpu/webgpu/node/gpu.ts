// Node adapter for the WebGPU runtime: Dawn through the npm `webgpu` package.
//
// Dawn's Vulkan backend dlopen()s `libvulkan.so.1` (the Vulkan loader),
// which finds a driver through its ICD files (an NVIDIA or Mesa driver, or
// SwiftShader named by VK_ICD_FILENAMES). Many machines have a driver but no
// system loader: Debian's Chromium, for one, ships its own loader and
// SwiftShader in /usr/lib/chromium, and CI has only those. LD_LIBRARY_PATH
// cannot be changed once the process runs, so when the system has no loader
// and one is known (SAMNERF_VULKAN_LOADER, or Chromium's), dawn.node is
// staged next to a link to it in a cache folder: Dawn also looks for
// libvulkan.so.1 beside its own module. Nothing else about Dawn changes.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { acquireGpu, type AcquireOptions, type GpuContext } from '../device';

export const CHROMIUM_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;
const CHROMIUM_LOADER = `${CHROMIUM_DIR}/libvulkan.so.1`;
const LOADER = 'libvulkan.so.1';

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

export interface NodeGpuOptions extends AcquireOptions {
  /** Use Chromium's SwiftShader when VK_ICD_FILENAMES is unset (tests): a software adapter, for correctness only. */
  softwareFallback?: boolean;
  /** Dawn flags passed to create() (e.g. 'backend=vulkan'). */
  dawnFlags?: string[];
}

export interface DawnLoad {
  gpu: GPU;
  /** How the Vulkan loader was found, for messages and docs. */
  loader: string;
}

let loaded: { module: DawnModule; loader: string } | undefined;

const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64'];

/** The Vulkan ICD manifests the loader would find by itself (VK_ICD_FILENAMES unset). */
export function vulkanIcdFiles(): string[] {
  const out: string[] = [];
  for (const d of ICD_DIRS) {
    try {
      for (const f of readdirSync(d)) if (f.endsWith('.json')) out.push(join(d, f));
    } catch {
      // folder absent
    }
  }
  return out;
}

/**
 * The NVIDIA driver's Vulkan ICD library for headless use: libEGL_nvidia.so.0.
 * (The manifest NVIDIA's packages and containers ship names libGLX_nvidia,
 * which fails without a display with VK_ERROR_INCOMPATIBLE_DRIVER; the EGL
 * library carries the same Vulkan entry points.)
 */
export function nvidiaVulkanLibrary(): string | undefined {
  const name = 'libEGL_nvidia.so.0';
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d), ...LIB_DIRS];
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  try {
    if (readFileSync('/etc/ld.so.cache').includes(name)) return name;
  } catch {
    // no cache
  }
  return undefined;
}

/**
 * When VK_ICD_FILENAMES is unset and the NVIDIA driver's EGL library is
 * installed: writes a manifest naming it and points VK_ICD_FILENAMES at it,
 * so Dawn finds the GPU headless (containers mount the driver's libraries
 * with at best the GLX manifest). Returns the manifest's path.
 */
export function ensureNvidiaIcd(): string | undefined {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return undefined;
  const lib = nvidiaVulkanLibrary();
  if (!lib) return undefined;
  const dir = join(tmpdir(), 'samnerf-vulkan-icd');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nvidia_egl_icd.json');
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } }, null, 2));
  renameSync(tmp, file);
  process.env.VK_ICD_FILENAMES = file;
  return file;
}

/** Whether the dynamic linker finds libvulkan.so.1 by itself (LD_LIBRARY_PATH, ld.so.cache, standard folders). */
export function systemVulkanLoader(): string | undefined {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d);
  for (const d of dirs) if (existsSync(join(d, LOADER))) return join(d, LOADER);
  try {
    if (readFileSync('/etc/ld.so.cache').includes(LOADER)) return `${LOADER} (ld.so.cache)`;
  } catch {
    // no cache: look in the usual folders below
  }
  for (const d of LIB_DIRS) if (existsSync(join(d, LOADER))) return join(d, LOADER);
  return undefined;
}

function dawnPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('webgpu/package.json');
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const path = join(dirname(pkg), 'dist', `${process.platform}-${arch}`, 'dawn.node');
  if (!existsSync(path)) throw new Error(`the webgpu package has no Dawn build for ${process.platform}-${arch} (${path})`);
  return path;
}

/** dawn.node copied into a cache folder beside a link to `loader` (written atomically, reused). */
function stageDawn(dawn: string, loader: string): string {
  const size = statSync(dawn).size;
  const dir = join(tmpdir(), `samnerf-dawn-${size}-${Buffer.from(loader).toString('hex').slice(-24)}`);
  const staged = join(dir, 'dawn.node');
  const link = join(dir, LOADER);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(link)) {
    const tmp = `${link}.${process.pid}`;
    symlinkSync(loader, tmp);
    renameSync(tmp, link);
  }
  if (!existsSync(staged) || statSync(staged).size !== size) {
    const tmp = `${staged}.${process.pid}`;
    copyFileSync(dawn, tmp);
    renameSync(tmp, staged);
  }
  return staged;
}

function loadDawn(): { module: DawnModule; loader: string } {
  if (loaded) return loaded;
  const dawn = dawnPath();
  let path = dawn;
  let loader = 'none found';
  if (process.platform === 'linux') {
    const system = systemVulkanLoader();
    const named = process.env.SAMNERF_VULKAN_LOADER;
    if (named && !existsSync(named)) throw new Error(`SAMNERF_VULKAN_LOADER=${named} does not exist`);
    if (named) {
      path = stageDawn(dawn, named);
      loader = named;
    } else if (system) {
      loader = system;
    } else if (existsSync(CHROMIUM_LOADER)) {
      path = stageDawn(dawn, CHROMIUM_LOADER);
      loader = CHROMIUM_LOADER;
    }
  } else {
    loader = 'platform default';
  }
  const module = { exports: {} as DawnModule };
  process.dlopen(module, path);
  loaded = { module: module.exports, loader };
  return loaded;
}

/** The Node `GPU` object (Dawn). Keep it referenced while the GPU is in use. */
export function createNodeGpu(options: NodeGpuOptions = {}): DawnLoad {
  if (process.platform === 'linux') ensureNvidiaIcd();
  if (options.softwareFallback && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { module, loader } = loadDawn();
  return { gpu: module.create(options.dawnFlags ?? []), loader };
}

export function nodeNoAdapterHint(loader: string): string {
  const icd = process.env.VK_ICD_FILENAMES ? `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}` : 'VK_ICD_FILENAMES unset';
  if (loader === 'none found') {
    return `no Vulkan loader (libvulkan.so.1) on this machine: install one (Debian/Ubuntu: libvulkan1) or set SAMNERF_VULKAN_LOADER to a libvulkan.so.1, plus a Vulkan driver (NVIDIA's, Mesa's, or VK_ICD_FILENAMES=${SWIFTSHADER_ICD} for SwiftShader); or use device cpu`;
  }
  return `the Vulkan loader (${loader}) found no driver (${icd}): install a Vulkan driver (NVIDIA: the driver's Vulkan ICD, nvidia_icd.json; in a container NVIDIA_DRIVER_CAPABILITIES must include graphics) or set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} for SwiftShader (slow); or use device cpu`;
}

/** A GpuContext on Node: Dawn, with a message naming what is missing when there is no adapter. */
export async function acquireNodeGpu(options: NodeGpuOptions = {}): Promise<GpuContext & { loader: string }> {
  let load: DawnLoad;
  try {
    load = createNodeGpu(options);
  } catch (e) {
    throw new Error(`cannot load Dawn (the npm webgpu package): ${(e as Error).message}; run npm ci, or use device cpu`);
  }
  const ctx = await acquireGpu(load.gpu, { ...options, source: 'the Node webgpu package (Dawn)', noAdapterHint: options.noAdapterHint ?? nodeNoAdapterHint(load.loader) });
  return Object.assign(ctx, { loader: load.loader });
}
