// What the Node WebGPU runtime finds on this machine: the Vulkan loader, the
// ICD manifests, the adapter and its limits. Exit status 1, with the reason,
// when there is no adapter.
//   npx tsx runtime-gpu/webgpu/node/probe.ts [--software]
//   --software: fall back to Chromium's SwiftShader when VK_ICD_FILENAMES is unset

import { adapterName } from '../device';
import { acquireNodeGpu, nvidiaVulkanLibrary, systemVulkanLoader, vulkanIcdFiles } from './gpu';

const software = process.argv.includes('--software');
console.log(`system Vulkan loader: ${systemVulkanLoader() ?? 'none'}; SAMNERF_VULKAN_LOADER=${process.env.SAMNERF_VULKAN_LOADER ?? ''}`);
console.log(`ICD manifests: ${vulkanIcdFiles().join(', ') || 'none'}; NVIDIA Vulkan library: ${nvidiaVulkanLibrary() ?? 'none'}; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''}`);
try {
  const ctx = await acquireNodeGpu({ softwareFallback: software });
  const l = ctx.device.limits;
  console.log(`adapter: ${adapterName(ctx.adapter)} (loader ${ctx.loader}; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''})`);
  console.log(`limits: storage binding ${l.maxStorageBufferBindingSize} B, buffer ${l.maxBufferSize} B, workgroup storage ${l.maxComputeWorkgroupStorageSize} B, ${l.maxComputeInvocationsPerWorkgroup} invocations per workgroup`);
  ctx.destroy();
  process.exit(0);
} catch (e) {
  console.error(`no WebGPU adapter: ${(e as Error).message}`);
  process.exit(1);
}
