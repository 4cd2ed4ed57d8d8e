// A table's page: header, toolbar, live run progress, the grid and the cell panel.
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type Field,
  type RecordRow,
  type Table,
  type View,
  ApiError,
  PENDING,
  del,
  errorText,
  get,
  getTable,
  patch,
  post,
  rowsWindow,
} from "./api";
import { DataGrid, writable } from "./grid";
import { navigate } from "./main";
import { AddColumnDialog, CellPanel, ColumnsMenu, FilterDialog, RunDialog } from "./panels";
import { SearchBar } from "./search";
import { ExportButton, ImportDialog, WebhookDialog } from "./sources";
import { ErrorNote, NamePrompt, Progress } from "./ui";

type Counts = Record<string, { status: string; count: number }[]>;

function parseTsv(text: string): string[][] {
  const lines = text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
  return lines.map((line) => line.split("\t"));
}

export function TablePage(props: { tableId: string; viewId: string | null; onRenamed: () => void }) {
  const [table, setTable] = useState<Table | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [total, setTotal] = useState(0);
  const [selected, setSelected] = useState<string[]>([]);
  const [counts, setCounts] = useState<Counts>({});
  const [cell, setCell] = useState<{ row: RecordRow; field: Field } | null>(null);
  const [dialog, setDialog] = useState<string | null>(null);
  const gridEl = useRef<HTMLDivElement>(null);
  const grid = useRef<DataGrid | null>(null);
  // Reads the run status now instead of at the next poll: after the page's own writes.
  const pokeStatus = useRef<() => void>(() => {});
  const viewId = props.viewId ?? table?.firstViewId ?? "";
  const view: View | undefined = table?.views.find((v) => v.id === viewId);

  async function reloadTable(): Promise<Table | null> {
    try {
      const t = await getTable(props.tableId);
      setTable(t);
      return t;
    } catch (e) {
      setError(errorText(e));
      return null;
    }
  }
  useEffect(() => {
    reloadTable();
  }, [props.tableId]);

  // The grid lives as long as the table and view stay the same.
  useEffect(() => {
    if (!table || !gridEl.current || !viewId) return;
    if (props.viewId && !view) {
      setError("View not found");
      return;
    }
    const g = new DataGrid(gridEl.current, table.id, viewId, table.fields, view, {
      onTotal: setTotal,
      onOpenCell: (row, field) => setCell({ row, field }),
      onEdit: (row, field, value) =>
        patch(`/v3/tables/${table.id}/records/${encodeURIComponent(row.id)}`, {
          cells: { [field.id]: value },
        }).then(
          () => (pokeStatus.current(), g.refreshVisible()),
          (e) => (setError(errorText(e)), g.refreshVisible()),
        ),
      onSelection: setSelected,
      onSort: (items) => saveView("sort", { items }).then(() => g.reload()),
      onColumns: (settings) => saveView("fields", settings),
      onMove: async (moves) => {
        for (const m of moves) {
          const ok =
            m.fieldIds.length === 1
              ? await saveView(`fields/${m.fieldIds[0]}`, { afterFieldId: m.afterFieldId, beforeFieldId: m.beforeFieldId })
              : await saveView("reorder-fields", m);
          if (!ok) break;
        }
      },
      onError: setError,
    });
    grid.current = g;
    return () => {
      g.destroy();
      grid.current = null;
    };
  }, [table?.id, viewId, !!table]);

  useEffect(() => {
    if (grid.current && table) grid.current.setFields(table.fields, view);
  }, [table]);

  // Live status: runstatus counts, the row total, and the rows in sight while cells are pending.
  // Polled every 0.7 s while cells are pending, else every 2 s, and at once when poked; after a
  // poke, pending cells are polled sooner at first (0.1, 0.2, 0.4 s), so a short run's end shows.
  useEffect(() => {
    if (!table) return;
    let stopped = false;
    let last = "";
    let timer = 0;
    let busy = false;
    let again = false;
    let sooner: number[] = [];
    pokeStatus.current = () => {
      if (stopped) return;
      sooner = [100, 200, 400];
      if (busy) again = true;
      else {
        clearTimeout(timer);
        timer = window.setTimeout(tick, 0);
      }
    };
    async function tick() {
      busy = true;
      let pending = false;
      try {
        const status = await get<{ statusCountsByField: Counts }>(
          `/v3/workspaces/${table!.workspaceId}/tables/${table!.id}/fields/runstatus`,
        );
        const key = JSON.stringify(status.statusCountsByField);
        pending = Object.values(status.statusCountsByField).some((list) =>
          list.some((c) => PENDING.has(c.status) && c.count > 0),
        );
        if (!stopped) setCounts(status.statusCountsByField);
        const g = grid.current;
        if (g && (pending || key !== last)) await g.refreshVisible();
        else if (g) {
          const head = await rowsWindow(table!.id, viewId, 0, 1);
          if (head.total !== g.total) await g.refreshVisible();
        }
        last = key;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) setNotice(errorText(e));
      }
      busy = false;
      if (!pending) sooner = [];
      const wait = again ? 0 : pending ? (sooner.shift() ?? 700) : 2000;
      if (!stopped) timer = window.setTimeout(tick, wait);
      again = false;
    }
    timer = window.setTimeout(tick, 500);
    return () => {
      stopped = true;
      pokeStatus.current = () => {};
      clearTimeout(timer);
    };
  }, [table?.id, viewId]);

  // Paste a block from a spreadsheet at the focused cell: updates rows, adds any beyond the end.
  useEffect(() => {
    const el = gridEl.current;
    if (!el || !table) return;
    const onPaste = async (event: ClipboardEvent) => {
      const g = grid.current;
      const focused = g?.api.getFocusedCell();
      if (!g || !focused || g.api.getEditingCells().length) return;
      const text = event.clipboardData?.getData("text/plain") ?? "";
      if (!text) return;
      event.preventDefault();
      const block = parseTsv(text);
      const columns = g.api.getAllDisplayedColumns().map((c) => c.getColId());
      const startCol = Math.max(1, columns.indexOf(focused.column.getColId()));
      const canWrite = new Set(table.fields.filter(writable).map((f) => f.id));
      const cellsOf = (values: string[]) => {
        const cells: Record<string, string> = {};
        values.forEach((v, i) => {
          const fid = columns[startCol + i];
          if (fid && canWrite.has(fid)) cells[fid] = v;
        });
        return cells;
      };
      try {
        const start = focused.rowIndex;
        const existing = await rowsWindow(table.id, viewId, start, Math.min(1000, block.length));
        const updates = existing.results.map((r, i) => ({ id: r.id, cells: cellsOf(block[i]) }));
        if (updates.length) await patch(`/v3/tables/${table.id}/records`, { records: updates });
        const extra = block.slice(updates.length).map((values) => ({ cells: cellsOf(values) }));
        for (let i = 0; i < extra.length; i += 1000)
          await post(`/v3/tables/${table.id}/records`, { records: extra.slice(i, i + 1000) });
        setNotice(`Pasted ${block.length} row(s)`);
        g.api.refreshInfiniteCache();
      } catch (e) {
        setError(errorText(e));
      }
    };
    el.addEventListener("paste", onPaste);
    return () => el.removeEventListener("paste", onPaste);
  }, [table, viewId]);

  /** Saves what the user did in the grid on the view, through the view routes (spec part 2
   * §5), so the view keeps it; the saved view replaces the page's copy. */
  async function saveView(route: string, body: unknown): Promise<boolean> {
    if (!table) return false;
    try {
      const r = await patch<{ view: View }>(`/v3/tables/${table.id}/views/${viewId}/${route}`, body);
      setTable((t) => t && { ...t, views: t.views.map((v) => (v.id === r.view.id ? r.view : v)) });
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    }
  }

  if (error && !table)
    return (
      <section class="page">
        <ErrorNote error={error} />
        <a href="/" data-route="1">Back to the workspace</a>
      </section>
    );
  if (!table) return <p class="loading">Loading table…</p>;

  const autoRun = table.tableSettings?.AUTO_RUN_ON !== false;
  const runnable = table.fields.filter((f) => f.type === "action" || f.type === "formula");
  const progress = runnable
    .map((f) => {
      const list = counts[f.id] ?? [];
      const pending = list.filter((c) => PENDING.has(c.status)).reduce((a, c) => a + c.count, 0);
      const errors = list.filter((c) => c.status.startsWith("ERROR")).reduce((a, c) => a + c.count, 0);
      const done = list.filter((c) => !PENDING.has(c.status)).reduce((a, c) => a + c.count, 0);
      return { f, pending, errors, done };
    })
    .filter((p) => p.pending > 0 || p.done > 0);

  async function addRow() {
    try {
      await post(`/v3/tables/${table!.id}/records`, { records: [{ cells: {} }] });
      grid.current?.reloadToEnd();
      pokeStatus.current();
    } catch (e) {
      setError(errorText(e));
    }
  }
  async function deleteRows() {
    if (!selected.length || !confirm(`Delete ${selected.length} row(s)?`)) return;
    try {
      await del(`/v3/tables/${table!.id}/records`, { recordIds: selected });
      grid.current?.api.deselectAll();
      grid.current?.reload();
    } catch (e) {
      setError(errorText(e));
    }
  }
  async function toggleAutoRun() {
    try {
      const r = await patch<{ table: Table }>(`/v3/tables/${table!.id}`, {
        tableSettings: { AUTO_RUN_ON: !autoRun },
      });
      setTable({ ...table!, tableSettings: r.table.tableSettings });
      pokeStatus.current();
    } catch (e) {
      setError(errorText(e));
    }
  }
  const afterChange = async () => {
    await reloadTable();
    grid.current?.reload();
    pokeStatus.current();
  };

  return (
    <section class="page table-page">
      <header class="table-head">
        <h1>
          <button type="button" class="link title" title="Rename table" onClick={() => setDialog("rename")}>
            {table.name}
          </button>
        </h1>
        <label>
          View{" "}
          <select
            aria-label="View"
            value={viewId}
            onChange={(e) => navigate(`/tables/${table.id}/views/${e.currentTarget.value}`)}
          >
            {table.views.map((v) => (
              <option value={v.id}>{v.name}</option>
            ))}
          </select>
        </label>
        <span class="muted" data-testid="row-total">
          {total.toLocaleString()} rows
        </span>
        <label class="toggle">
          <input type="checkbox" checked={autoRun} onChange={toggleAutoRun} /> Auto-run
        </label>
      </header>
      <div class="toolbar" role="toolbar" aria-label="Table actions">
        <button type="button" onClick={addRow}>+ Row</button>
        <button type="button" disabled={!selected.length} onClick={deleteRows}>
          Delete rows{selected.length ? ` (${selected.length})` : ""}
        </button>
        <button type="button" onClick={() => setDialog("column")}>+ Column</button>
        <button type="button" onClick={() => setDialog("run")} disabled={!runnable.length}>
          ▶ Run
        </button>
        <button type="button" onClick={() => setDialog("columns")}>Columns</button>
        <button type="button" onClick={() => setDialog("filter")}>Filter</button>
        <button type="button" onClick={() => setDialog("webhook")}>Webhook</button>
        <button type="button" onClick={() => setDialog("import")}>Import CSV</button>
        <ExportButton table={table} viewId={viewId} onError={setError} onNotice={setNotice} />
        <span class="spacer" />
        <SearchBar tableId={table.id} viewId={viewId} grid={() => grid.current} onError={setError} />
        <button type="button" onClick={() => grid.current?.jumpTo(0)} aria-label="First row">⤒</button>
        <button type="button" onClick={() => grid.current?.jumpTo(grid.current.total - 1)} aria-label="Last row">
          ⤓
        </button>
      </div>
      {progress.length > 0 && (
        <div class="run-strip" aria-live="polite">
          {progress.map((p) => (
            <Progress
              key={p.f.id}
              label={`${p.f.name}${p.errors ? ` (${p.errors} errors)` : ""}`}
              value={p.done}
              max={p.done + p.pending}
            />
          ))}
        </div>
      )}
      <ErrorNote error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}{" "}
          <button type="button" class="link" onClick={() => setNotice("")}>dismiss</button>
        </p>
      )}
      <div class="grid-wrap">
        <div class="grid" ref={gridEl} data-testid="grid" />
        {cell && (
          <CellPanel
            table={table}
            row={cell.row}
            field={cell.field}
            onClose={() => setCell(null)}
          />
        )}
      </div>
      {dialog === "rename" && (
        <NamePrompt
          title="Rename table"
          label="Table name"
          initial={table.name}
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await patch(`/v3/tables/${table.id}`, { name });
            setTable({ ...table, name });
            props.onRenamed();
          }}
        />
      )}
      {dialog === "column" && (
        <AddColumnDialog table={table} viewId={viewId} onClose={() => setDialog(null)} onDone={afterChange} />
      )}
      {dialog === "run" && (
        <RunDialog
          table={table}
          viewId={viewId}
          selected={selected}
          onClose={() => setDialog(null)}
          onStarted={() => pokeStatus.current()}
        />
      )}
      {dialog === "columns" && grid.current && (
        <ColumnsMenu table={table} grid={grid.current} onClose={() => setDialog(null)} />
      )}
      {dialog === "filter" && (
        <FilterDialog
          table={table}
          view={view}
          save={async (filter) => {
            if (!(await saveView("filter", filter))) throw new Error("The filter was not saved");
          }}
          onClose={() => setDialog(null)}
          onDone={afterChange}
        />
      )}
      {dialog === "webhook" && <WebhookDialog table={table} onClose={() => setDialog(null)} onDone={reloadTable} />}
      {dialog === "import" && (
        <ImportDialog table={table} onClose={() => setDialog(null)} onDone={afterChange} />
      )}
    </section>
  );
}
