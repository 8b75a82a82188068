// Keyboard shortcuts as data: a key event to a command name. Keys typed into
// a param field belong to the field (its own undo, Delete, copy and paste).

export type Command = 'delete' | 'undo' | 'redo' | 'copy' | 'paste' | 'save' | 'run';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey?: boolean;
}

export function commandFor(e: KeyLike, inEditableField: boolean): Command | undefined {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  // Save works everywhere: the browser's own Ctrl+S would save the page.
  if (mod && key === 's') return 'save';
  if (inEditableField || e.altKey) return undefined;
  if (mod && key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (mod && key === 'y') return 'redo';
  if (mod && key === 'c') return 'copy';
  if (mod && key === 'v') return 'paste';
  if (mod && key === 'enter') return 'run';
  if (!mod && (key === 'delete' || key === 'backspace')) return 'delete';
  return undefined;
}

export function isEditableTarget(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'range', 'file'].includes(type);
}
