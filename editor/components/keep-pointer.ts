// A Svelte action: pointer presses inside the element stay there. Rete
// listens on the node's element to drag the node and pick it; Svelte's own
// `onpointerdown` is delegated to that same element and runs too late to
// stop it, so this listens natively on the element itself.

export function keepPointer(node: HTMLElement): { destroy(): void } {
  const stop = (e: Event) => e.stopPropagation();
  const events = ['pointerdown', 'dblclick', 'contextmenu'] as const;
  for (const e of events) node.addEventListener(e, stop);
  return { destroy: () => events.forEach((e) => node.removeEventListener(e, stop)) };
}
