// The Rete canvas with its plugins, wired to the editor's own rules: the
// connection pipe asks the engine's type rules (via socket-rules), wires are
// created as coloured Wires, node views are our Svelte components. Only the
// plumbing lives here; what a node looks like is in components/.

import { NodeEditor } from 'rete';
import { AreaExtensions, AreaPlugin } from 'rete-area-plugin';
import { AutoArrangePlugin, Presets as ArrangePresets } from 'rete-auto-arrange-plugin';
import { ClassicFlow, ConnectionPlugin, getSourceTarget, type SocketData } from 'rete-connection-plugin';
import { ContextMenuPlugin, type ContextMenuExtra } from 'rete-context-menu-plugin';
import { HistoryPlugin, Presets as HistoryPresets, type HistoryAction } from 'rete-history-plugin';
import { MinimapPlugin, type MinimapExtra } from 'rete-minimap-plugin';
import { Presets, SveltePlugin, type SvelteArea2D } from 'rete-svelte-plugin/5';
import NodeCard from '../components/NodeCard.svelte';
import SocketView from '../components/SocketView.svelte';
import WireView from '../components/WireView.svelte';
import type { ConnectionVerdict } from '../socket-rules';
import { Wire, type NodeView, type Schemes } from './scheme.svelte';

export type AreaExtra = SvelteArea2D<any> | ContextMenuExtra | MinimapExtra;

/** The context menu's entry shape (the plugin does not export it). */
export interface MenuItem {
  label: string;
  key: string;
  handler(): void | Promise<void>;
  subitems?: MenuItem[];
}
export type MenuItems = (context: 'root' | NodeView) => { searchBar?: boolean; list: MenuItem[] };

export interface CanvasHooks {
  /** May an output feed an input? (source and target already put in flow order) */
  check(source: SocketData, target: SocketData): ConnectionVerdict;
  /** A wire the user tried to draw was refused. */
  refused(reason: string): void;
  /** Whether a wire added by code (not by the user) skips the check, e.g. while a file loads. */
  trusted(): boolean;
  /** Right-click menu entries. */
  menu: MenuItems;
}

export interface Canvas {
  editor: NodeEditor<Schemes>;
  area: AreaPlugin<Schemes, AreaExtra>;
  history: HistoryPlugin<Schemes, HistoryAction>;
  arrange: AutoArrangePlugin<Schemes>;
  selector: ReturnType<typeof AreaExtensions.selector>;
  destroy(): void;
}

export function createCanvas(container: HTMLElement, hooks: CanvasHooks): Canvas {
  const editor = new NodeEditor<Schemes>();
  const area = new AreaPlugin<Schemes, AreaExtra>(container);
  const connection = new ConnectionPlugin<Schemes, AreaExtra>();
  const render = new SveltePlugin<Schemes, AreaExtra>();
  const history = new HistoryPlugin<Schemes, HistoryAction>();
  const menu = new ContextMenuPlugin<Schemes>({ items: (context) => hooks.menu(context as 'root' | NodeView) });
  const minimap = new MinimapPlugin<Schemes>({ boundViewport: true });
  const arrange = new AutoArrangePlugin<Schemes>();

  const selector = AreaExtensions.selector();
  AreaExtensions.selectableNodes(area, selector, { accumulating: AreaExtensions.accumulateOnCtrl() });
  AreaExtensions.simpleNodesOrder(area);

  render.addPreset(
    Presets.classic.setup({
      customize: {
        node: () => NodeCard as any,
        socket: () => SocketView as any,
        connection: () => WireView as any,
      },
    }) as any,
  );
  render.addPreset(Presets.contextMenu.setup({ delay: 200 }) as any);
  render.addPreset(Presets.minimap.setup({ size: 180 }) as any);

  const verdict = (a: SocketData, b: SocketData): ConnectionVerdict | undefined => {
    const pair = getSourceTarget(a, b);
    return pair ? hooks.check(pair[0], pair[1]) : undefined;
  };
  connection.addPreset(
    () =>
      new ClassicFlow({
        // Refusing here (not only in the editor pipe) keeps the input's current wire.
        canMakeConnection(from, to) {
          const v = verdict(from, to);
          if (!v) return false;
          if (!v.ok) {
            hooks.refused(v.reason);
            // Let go of the dragged wire: a refused drop otherwise leaves it following the pointer.
            setTimeout(() => connection.drop(), 0);
          }
          return v.ok;
        },
        makeConnection(from, to, context) {
          const pair = getSourceTarget(from, to);
          if (!pair) return false;
          const [s, t] = pair;
          const source = context.editor.getNode(s.nodeId) as NodeView | undefined;
          const target = context.editor.getNode(t.nodeId) as NodeView | undefined;
          if (!source || !target) return false;
          void context.editor.addConnection(new Wire(source, s.key, target, t.key));
          return true;
        },
      }),
  );

  // Every wire, however it is made (drawn, pasted, redone), passes the engine's type rules.
  editor.addPipe((context) => {
    if (context.type !== 'connectioncreate' || hooks.trusted()) return context;
    const c = context.data;
    const source = editor.getNode(c.source);
    const target = editor.getNode(c.target);
    if (!source || !target) return context;
    const v = hooks.check(
      { nodeId: c.source, key: c.sourceOutput, side: 'output' } as SocketData,
      { nodeId: c.target, key: c.targetInput, side: 'input' } as SocketData,
    );
    if (!v.ok) {
      hooks.refused(v.reason);
      return undefined;
    }
    return context;
  });

  history.addPreset(HistoryPresets.classic.setup());
  arrange.addPreset(ArrangePresets.classic.setup());

  editor.use(area);
  area.use(connection);
  area.use(render);
  area.use(history);
  area.use(menu);
  area.use(minimap);
  area.use(arrange);

  return {
    editor,
    area,
    history,
    arrange,
    selector,
    destroy: () => area.destroy(),
  };
}
