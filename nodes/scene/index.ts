// The procedural scene generator with ground truth (docs/scene-generator.md).
export { buildSceneDataset, describeScene, findOcclusions, DEPTH_PNG_SCALE, SCENE_DEFAULTS, type Occlusion, type SceneDataset, type SceneOptions } from './dataset';
export { layoutScene, lookAt, sceneViews, RIG, TEST_EVERY, type SceneLayout, type SceneObject, type SceneView } from './layout';
export { renderView, skyColour, type RenderOptions, type ViewRender } from './render';
export { halfExtents, intersect, normal, sdf, type Shape, type ShapeKind } from './shapes';
export { albedo, type Texture, type TextureKind } from './textures';
export { Random } from './random';
export { buildSceneCapture, boxDownscale, llffRow, llffViews, ngpIntrinsics, ngpViews, CAPTURE_DEFAULTS, LLFF_RIG, NGP_AABB_SCALE, SCENE_FORMATS, type CaptureOptions, type SceneCapture, type SceneFormat } from './capture';
