// The data grid: AG Grid Community's infinite row model, fed windows of a view's rows.
// Only the rows in sight (plus a small buffer) are in the DOM; blocks of 100 rows are
// fetched as they scroll into view and a few are kept.
import {
  type CellClickedEvent,
  type CellKeyDownEvent,
  type CellValueChangedEvent,
  type ColDef,
  type GridApi,
  type ICellRendererParams,
  CellStyleModule,
  CheckboxEditorModule,
  ColumnApiModule,
  DateEditorModule,
  EventApiModule,
  InfiniteRowModelModule,
  ModuleRegistry,
  NumberEditorModule,
  RenderApiModule,
  RowApiModule,
  RowSelectionModule,
  ScrollApiModule,
  TextEditorModule,
  TooltipModule,
  createGrid,
} from "ag-grid-community";
// The stylesheet theme: plain CSS in the bundle, no styles generated at run time.
import "ag-grid-community/styles/ag-grid.min.css";
import "ag-grid-community/styles/ag-theme-quartz.min.css";
import { type Field, type RecordRow, type View, PENDING, rowsWindow } from "./api";

ModuleRegistry.registerModules([
  InfiniteRowModelModule,
  RowSelectionModule,
  TextEditorModule,
  NumberEditorModule,
  CheckboxEditorModule,
  DateEditorModule,
  CellStyleModule,
  ColumnApiModule,
  RowApiModule,
  ScrollApiModule,
  RenderApiModule,
  EventApiModule,
  TooltipModule,
]);

export const BLOCK_SIZE = 100;

export const TYPE_ICON: Record<string, string> = {
  text: "T",
  number: "#",
  boolean: "☑",
  date: "◷",
  url: "↗",
  email: "@",
  phone: "☎",
  select: "▾",
  multiselect: "☰",
  currency: "$",
  percent: "%",
  image: "▨",
  formula: "ƒ",
  action: "⚡",
  source: "↯",
  lookup: "⤷",
};

export const COMPUTED = new Set(["formula", "action", "source", "lookup"]);
export const SYSTEM = new Set(["f_created_at", "f_updated_at"]);

export const writable = (f: Field) => !COMPUTED.has(f.type) && !SYSTEM.has(f.id);

export function display(value: any): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function errorOf(cell: any): string {
  const err = cell?.externalContent?.error;
  if (err) return typeof err === "string" ? err : JSON.stringify(err);
  return cell?.metadata?.status ?? "";
}

/** Search matches the grid marks: keys are `recordId fieldId`. */
export interface Matches {
  all: Set<string>;
  current: string;
}
export const matchKey = (recordId: string, fieldId: string) => `${recordId} ${fieldId}`;

function renderCell(fieldId: string) {
  return (p: ICellRendererParams<RecordRow, any, Matches>) => {
    const el = document.createElement("span");
    if (!p.data) {
      el.className = "cell loading";
      el.textContent = "…";
      return el;
    }
    const cell = p.data.cells?.[fieldId];
    const status = cell?.metadata?.status ?? "";
    el.className = "cell";
    el.dataset.status = status;
    const key = matchKey(p.data.id, fieldId);
    if (p.context?.all.has(key)) el.classList.add(p.context.current === key ? "match-current" : "match");
    if (PENDING.has(status)) {
      el.classList.add("pending");
      el.innerHTML = '<i class="spinner" aria-hidden="true"></i>';
      el.append(status.toLowerCase());
    } else if (status.startsWith("ERROR") || status === "FAILED" || status === "CANCELLED") {
      el.classList.add("error-cell");
      const message = errorOf(cell);
      el.title = message;
      el.textContent = "⚠ " + message;
    } else if (status === "SUCCESS_NO_DATA") {
      el.classList.add("no-data");
      el.textContent = "No data";
    } else {
      el.textContent = display(cell?.value);
    }
    return el;
  };
}

const EDITOR: Record<string, string> = {
  number: "agNumberCellEditor",
  currency: "agNumberCellEditor",
  percent: "agNumberCellEditor",
  boolean: "agCheckboxCellEditor",
  date: "agDateStringCellEditor",
};

function columnDefs(fields: Field[], view: View | undefined): ColDef<RecordRow>[] {
  const settings = view?.fields ?? {};
  const order = (f: Field) => settings[f.id]?.order;
  const sorted = fields
    .map((f, i) => ({ f, i }))
    .sort((a, b) => {
      const x = order(a.f);
      const y = order(b.f);
      if (x === undefined || y === undefined) return a.i - b.i;
      return String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : a.i - b.i;
    })
    .map(({ f }) => f);
  const sort: any[] = Array.isArray(view?.sort) ? view!.sort : (view?.sort?.items ?? []);
  const defs: ColDef<RecordRow>[] = [
    {
      colId: "__row",
      headerName: "#",
      width: 80,
      pinned: "left",
      sortable: false,
      resizable: false,
      suppressMovable: true,
      cellClass: "row-number",
      valueGetter: (p) => (p.node?.rowIndex ?? 0) + 1,
    },
  ];
  for (const f of sorted) {
    const s = settings[f.id] ?? {};
    const sortItem = sort.find((i: any) => i.fieldId === f.id);
    defs.push({
      colId: f.id,
      headerName: `${TYPE_ICON[f.type] ?? "T"} ${f.name}`,
      headerTooltip: `${f.name} (${f.type})`,
      width: s.width ?? 180,
      // System columns stay hidden unless the view shows them.
      hide: SYSTEM.has(f.id) ? s.isVisible !== true : s.isVisible === false,
      pinned: s.isPinned ? "left" : null,
      sortable: true,
      sort: sortItem ? (sortItem.direction === "DESC" ? "desc" : "asc") : null,
      editable: writable(f),
      cellEditor: EDITOR[f.type] ?? "agTextCellEditor",
      valueGetter: (p) => p.data?.cells?.[f.id]?.value,
      valueSetter: (p) => {
        if (!p.data) return false;
        p.data.cells = { ...p.data.cells, [f.id]: { value: p.newValue } };
        return true;
      },
      cellRenderer: renderCell(f.id),
      cellClass: COMPUTED.has(f.type) ? "computed" : undefined,
    });
  }
  return defs;
}

export interface GridHandlers {
  onTotal: (total: number) => void;
  onOpenCell: (row: RecordRow, field: Field) => void;
  onEdit: (row: RecordRow, field: Field, value: any) => void;
  onSelection: (ids: string[]) => void;
  onSort: (items: { fieldId: string; direction: "ASC" | "DESC" }[]) => void;
  onColumns: (settings: Record<string, { isVisible: boolean; width: number; isPinned: boolean }>) => void;
  /** Columns dragged to a new place: one move route call per entry, in order. */
  onMove: (moves: ColumnMove[]) => void;
  onError: (message: string) => void;
}

// Column events the grid raises by itself (new column definitions after a save, start-up):
// saving them again would echo the server's own state back to it.
const SELF = new Set(["gridOptionsChanged", "gridInitializing", "flex", "sizeColumnsToFit"]);
const byUser = (e: { source: string }) => !SELF.has(e.source);

export type ColumnMove = { fieldIds: string[]; afterFieldId?: string; beforeFieldId?: string };

/** The moves (as the view routes take them) that turn `before` into `after`, given the
 * columns that were dragged: one block when they stay together, else one per column. */
export function planMoves(before: string[], after: string[], moved: string[]): ColumnMove[] {
  const set = new Set(moved.filter((id) => after.includes(id)));
  const block = after.filter((id) => set.has(id));
  if (!block.length || before.join() === after.join()) return [];
  const anchor = (ids: string[]): ColumnMove => {
    const at = after.indexOf(ids[0]);
    const prev = after[at - 1];
    return prev !== undefined ? { fieldIds: ids, afterFieldId: prev } : { fieldIds: ids, beforeFieldId: after[at + ids.length] };
  };
  const together = (order: string[]) => {
    const at = order.indexOf(block[0]);
    return block.every((id, i) => order[at + i] === id);
  };
  if (together(after) && together(before)) return [anchor(block)];
  return block.map((id) => anchor([id]));
}

export class DataGrid {
  api: GridApi<RecordRow>;
  total = 0;
  private fields: Field[] = [];
  private order: string[] = [];
  private afterLoad: (() => void)[] = [];
  readonly matches: Matches = { all: new Set(), current: "" };

  constructor(
    element: HTMLElement,
    private tableId: string,
    private viewId: string,
    fields: Field[],
    view: View | undefined,
    private handlers: GridHandlers,
  ) {
    this.fields = fields;
    element.classList.add("ag-theme-quartz");
    const defs = columnDefs(fields, view);
    this.order = defs.map((d) => d.colId!).filter((id) => id.startsWith("f_"));
    this.api = createGrid<RecordRow>(element, {
      theme: "legacy",
      rowHeight: 34,
      headerHeight: 38,
      rowModelType: "infinite",
      cacheBlockSize: BLOCK_SIZE,
      maxBlocksInCache: 10,
      maxConcurrentDatasourceRequests: 2,
      infiniteInitialRowCount: 1,
      rowBuffer: 5,
      getRowId: (p) => p.data.id,
      columnDefs: defs,
      context: this.matches,
      defaultColDef: { resizable: true, suppressHeaderMenuButton: true },
      rowSelection: { mode: "multiRow", checkboxes: true, headerCheckbox: false, enableClickSelection: false },
      selectionColumnDef: { pinned: "left", width: 44 },
      stopEditingWhenCellsLoseFocus: true,
      enableCellTextSelection: false,
      ensureDomOrder: true,
      datasource: {
        getRows: (params) => {
          const limit = params.endRow - params.startRow;
          rowsWindow(this.tableId, this.viewId, params.startRow, limit).then(
            (data) => {
              this.setTotal(data.total);
              params.successCallback(data.results, data.total);
              const after = this.afterLoad.splice(0);
              after.forEach((fn) => fn());
            },
            (error) => {
              handlers.onError(String(error?.message ?? error));
              params.failCallback();
            },
          );
        },
      },
      onCellClicked: (e: CellClickedEvent<RecordRow>) => this.open(e.data, e.colDef.colId),
      onCellKeyDown: (e: CellKeyDownEvent<RecordRow>) => {
        const key = (e.event as KeyboardEvent | undefined)?.key;
        const field = this.field(e.colDef.colId);
        if (key === "Enter" && field && COMPUTED.has(field.type)) this.open(e.data, field.id, true);
      },
      onCellValueChanged: (e: CellValueChangedEvent<RecordRow>) => {
        const field = this.field(e.colDef.colId);
        if (e.data && field && e.newValue !== e.oldValue) handlers.onEdit(e.data, field, e.newValue);
      },
      onSelectionChanged: () => handlers.onSelection(this.api.getSelectedRows().map((r) => r.id)),
      onSortChanged: (e) => {
        if (!byUser(e)) return;
        const items = this.api
          .getColumnState()
          .filter((c) => c.sort && c.colId !== "__row")
          .sort((a, b) => (a.sortIndex ?? 0) - (b.sortIndex ?? 0))
          .map((c) => ({ fieldId: c.colId, direction: c.sort === "desc" ? "DESC" : "ASC" }) as const);
        handlers.onSort(items);
      },
      onColumnResized: (e) => e.finished && byUser(e) && this.columnsChanged(),
      onColumnMoved: (e) => {
        if (!e.finished || !byUser(e)) return;
        const moved = (e.columns ?? (e.column ? [e.column] : [])).map((c) => c.getColId());
        this.columnsMoved(moved);
      },
      onColumnPinned: (e) => byUser(e) && this.columnsChanged(),
      onColumnVisible: (e) => byUser(e) && this.columnsChanged(),
    });
  }

  private field(colId: string | undefined): Field | undefined {
    return this.fields.find((f) => f.id === colId);
  }

  private open(row: RecordRow | undefined, colId: string | undefined, force = false) {
    const field = this.field(colId);
    if (!row || !field) return;
    const cell = row.cells?.[field.id];
    if (force || COMPUTED.has(field.type) || cell?.externalContent || cell?.metadata?.status)
      this.handlers.onOpenCell(row, field);
  }

  private columnOrder(): string[] {
    return this.api
      .getColumnState()
      .map((c) => c.colId)
      .filter((id) => id.startsWith("f_"));
  }

  private columnsMoved(moved: string[]) {
    const after = this.columnOrder();
    const moves = planMoves(this.order, after, moved);
    this.order = after;
    if (moves.length) this.handlers.onMove(moves);
  }

  private columnsChanged() {
    const out: Record<string, { isVisible: boolean; width: number; isPinned: boolean }> = {};
    for (const c of this.api.getColumnState()) {
      if (!c.colId.startsWith("f_")) continue;
      out[c.colId] = { isVisible: !c.hide, width: c.width ?? 180, isPinned: !!c.pinned };
    }
    this.handlers.onColumns(out);
  }

  private setTotal(total: number) {
    if (total !== this.total) {
      this.total = total;
      this.handlers.onTotal(total);
    }
  }

  setFields(fields: Field[], view: View | undefined) {
    this.fields = fields;
    const defs = columnDefs(fields, view);
    this.order = defs.map((d) => d.colId!).filter((id) => id.startsWith("f_"));
    this.api.setGridOption("columnDefs", defs);
  }

  /** Marks search matches; `current` is the one shown. */
  setMatches(all: { recordId: string; fieldId: string }[], current: number) {
    this.matches.all = new Set(all.map((m) => matchKey(m.recordId, m.fieldId)));
    const hit = all[current];
    this.matches.current = hit ? matchKey(hit.recordId, hit.fieldId) : "";
    this.api.refreshCells({ force: true });
  }

  /** Scrolls to a row and column and focuses that cell. */
  showCell(index: number, fieldId: string) {
    this.api.ensureIndexVisible(index, "middle");
    this.api.ensureColumnVisible(fieldId, "auto");
    this.api.setFocusedCell(index, fieldId);
  }

  /** Reloads every row from the server (after a sort, filter or bulk change). */
  reload() {
    this.api.purgeInfiniteCache();
  }

  /** Re-reads the rows in sight in one request and updates them in place. */
  async refreshVisible(): Promise<void> {
    const first = this.api.getFirstDisplayedRowIndex();
    const last = this.api.getLastDisplayedRowIndex();
    if (first < 0 || last < first) return this.reload();
    const data = await rowsWindow(this.tableId, this.viewId, first, Math.min(1000, last - first + 1));
    if (data.total !== this.total) {
      this.setTotal(data.total);
      this.api.refreshInfiniteCache();
      return;
    }
    data.results.forEach((row, i) => {
      const node = this.api.getDisplayedRowAtIndex(first + i);
      if (node && node.data && node.data.id === row.id) node.setData(row);
    });
  }

  /** Re-reads the rows (after rows were added) and then shows the last one. */
  reloadToEnd() {
    this.afterLoad.push(() => this.jumpTo(this.total - 1));
    this.api.refreshInfiniteCache();
  }

  jumpTo(index: number) {
    this.api.ensureIndexVisible(Math.max(0, Math.min(index, this.total - 1)), index > 0 ? "bottom" : "top");
    this.api.setFocusedCell(Math.max(0, Math.min(index, this.total - 1)), "__row");
  }

  destroy() {
    this.api.destroy();
  }
}
