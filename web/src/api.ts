// The app's only door to the server: the public /v3 API and a few /_claystack/ui reads.

export class ApiError extends Error {
  constructor(
    public status: number,
    public type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "NetworkError", "The server cannot be reached");
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const type = data?.type ?? `HTTP${response.status}`;
    const message = data?.message ?? `${response.status} ${response.statusText}`;
    if (response.status === 401 && !path.endsWith("/auth/login")) onUnauthorized();
    throw new ApiError(response.status, type, message);
  }
  return data as T;
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler: () => void) {
  onUnauthorized = handler;
}

export const get = <T = any>(path: string) => api<T>("GET", path);
export const post = <T = any>(path: string, body: unknown = {}) => api<T>("POST", path, body);
export const patch = <T = any>(path: string, body: unknown = {}) => api<T>("PATCH", path, body);
export const del = <T = any>(path: string, body?: unknown) => api<T>("DELETE", path, body);

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.type})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

// -- shapes the app reads ---------------------------------------------------------------

export interface Cell {
  value: any;
  metadata?: { status?: string | null; isPreview?: boolean };
  externalContent?: { fullValue?: any; error?: any };
}
export interface RecordRow {
  id: string;
  cells: Record<string, Cell>;
  createdAt?: string;
}
export interface Field {
  id: string;
  name: string;
  type: string;
  typeSettings?: any;
}
export interface ViewFieldSettings {
  isVisible?: boolean;
  width?: number;
  isPinned?: boolean;
  order?: string | number;
}
export interface View {
  id: string;
  name: string;
  fields?: Record<string, ViewFieldSettings>;
  sort?: any;
  filter?: any;
  typeSettings?: { preconfiguredType?: string };
}
export interface Table {
  id: string;
  name: string;
  workspaceId: number;
  workbookId?: string;
  firstViewId: string;
  fields: Field[];
  views: View[];
  tableSettings?: Record<string, any>;
}
export interface Resource {
  resourceType: "FOLDER" | "WORKBOOK" | "TABLE";
  id: string;
  name: string;
  parentFolderId?: string | null;
  workbookId?: string | null;
}

export const PENDING = new Set([
  "QUEUED",
  "RUNNING",
  "RETRY",
  "AWAITING_CALLBACK",
  "PENDING",
  "RATE_LIMITED",
]);

// Requests started at page load, before the app knows who is logged in: opening a table's
// URL fetches the table and its first rows at once instead of one after another.
const early = new Map<string, Promise<any>>();

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  const started = early.get(key);
  early.delete(key);
  return started ?? load();
}

export function getTable(tableId: string): Promise<Table> {
  return once(`table:${tableId}`, async () => {
    const data = await get<{ table: Table }>(`/v3/tables/${tableId}`);
    return data.table;
  });
}

export type RowsWindow = { total: number; offset: number; results: RecordRow[] };

export function rowsWindow(tableId: string, viewId: string, offset: number, limit: number) {
  const path = `/_claystack/ui/tables/${tableId}/views/${viewId}/rows?offset=${offset}&limit=${limit}`;
  return once(path, () => get<RowsWindow>(path));
}

export function prefetchTable(tableId: string, viewId: string | null, rows: number) {
  const table = getTable(tableId);
  early.set(`table:${tableId}`, table);
  table.then(
    (t) => {
      const view = viewId ?? t.firstViewId;
      const path = `/_claystack/ui/tables/${tableId}/views/${view}/rows?offset=0&limit=${rows}`;
      const first = get<RowsWindow>(path);
      first.catch(() => {});
      early.set(path, first);
    },
    () => {},
  );
}

export type SearchHit = { fieldId: string; recordId: string };

/** The view search route (spec part 2 §5): matching cells of the visible columns, in view
 * and column order. */
export async function searchView(tableId: string, viewId: string, term: string): Promise<SearchHit[]> {
  const data = await post<{ results: SearchHit[] }>(`/v3/tables/${tableId}/views/${viewId}/search`, {
    searchTerm: term,
  });
  return data.results;
}

/** Where a row stands in a view (its index), to scroll the grid to it. */
export async function rowIndex(tableId: string, viewId: string, recordId: string): Promise<number> {
  const path = `/_claystack/ui/tables/${tableId}/views/${viewId}/rows/${encodeURIComponent(recordId)}`;
  return (await get<{ index: number }>(path)).index;
}
