// The Data Manager's query as the address bar holds it (`tab`, `filters`, `ordering`,
// `page`, `page_size`), the columns it can filter and sort on, and the operators each column
// type offers (Label Studio's). The URL is the one source of truth, so a filtered page can
// be shared by copying its address.

export const PAGE_SIZES = [30, 50, 100];

/** Operators per column type, with the words the frontend shows. */
export const OPERATORS = {
  Number: [['equal', '='], ['not_equal', '≠'], ['less', '<'], ['greater', '>'], ['less_or_equal', '≤'],
    ['greater_or_equal', '≥'], ['in', 'is between'], ['not_in', 'not between'], ['empty', 'is empty']],
  Datetime: [['less', 'is before'], ['greater', 'is after'], ['in', 'is between'], ['not_in', 'not between'],
    ['empty', 'is empty']],
  Boolean: [['equal', 'is'], ['empty', 'is empty']],
  String: [['contains', 'contains'], ['not_contains', 'does not contain'], ['regex', 'matches regex'],
    ['equal', 'equals'], ['not_equal', 'does not equal'], ['empty', 'is empty']],
  List: [['contains', 'contains'], ['not_contains', 'does not contain'], ['empty', 'is empty']],
};

/** The built-in columns; `table` ones are shown in the task table (and sortable there). */
const BUILT_IN = [
  { id: 'tasks:id', label: 'ID', type: 'Number', table: true },
  { id: 'tasks:completed_at', label: 'Completed', type: 'Datetime', table: true },
  { id: 'tasks:total_annotations', label: 'Annotations', type: 'Number', table: true },
  { id: 'tasks:cancelled_annotations', label: 'Cancelled', type: 'Number', table: true },
  { id: 'tasks:total_predictions', label: 'Predictions', type: 'Number', table: true },
  { id: 'tasks:inner_id', label: 'Inner ID', type: 'Number' },
  { id: 'tasks:is_labeled', label: 'Labeled', type: 'Boolean' },
  { id: 'tasks:annotators', label: 'Annotated by', type: 'List', users: true },
  { id: 'tasks:predictions_score', label: 'Prediction score', type: 'Number' },
  { id: 'tasks:predictions_model_versions', label: 'Model versions', type: 'List' },
  { id: 'tasks:draft_exists', label: 'Has a draft', type: 'Boolean' },
  { id: 'tasks:storage_state', label: 'Storage object (vanished, changed)', type: 'String' },
  { id: 'tasks:created_at', label: 'Created', type: 'Datetime' },
  { id: 'tasks:updated_at', label: 'Updated', type: 'Datetime' },
];

export const STORAGE_FILENAME = { id: 'tasks:storage_filename', label: 'Storage filename', type: 'String', table: true };

/** Every filterable column: built-in ones, the config's data fields, the storage file name. */
export function columnsOf(dataColumns) {
  return [...BUILT_IN,
    ...dataColumns.map((c) => ({ id: `tasks:data.${c.key}`, label: c.key, type: 'String', tag: c.tag, table: true })),
    STORAGE_FILENAME];
}

/** The query the address bar describes. */
export function readQuery(query) {
  let filters = { conjunction: 'and', items: [] };
  try {
    const parsed = JSON.parse(query.get('filters') || 'null');
    if (parsed && Array.isArray(parsed.items)) filters = { conjunction: parsed.conjunction === 'or' ? 'or' : 'and', items: parsed.items };
  } catch { /* a hand-edited address: no filters */ }
  const size = Number(query.get('page_size'));
  return {
    tab: Number(query.get('tab')) || null,
    filters,
    ordering: query.get('ordering') || '',
    page: Math.max(1, Number(query.get('page')) || 1),
    pageSize: PAGE_SIZES.includes(size) ? size : PAGE_SIZES[0],
  };
}

/** The address of a Data Manager state. */
export function addressOf(projectId, state) {
  const params = new URLSearchParams();
  if (state.tab) params.set('tab', state.tab);
  if (state.filters.items.length) params.set('filters', JSON.stringify(state.filters));
  if (state.ordering) params.set('ordering', state.ordering);
  if (state.page > 1) params.set('page', state.page);
  if (state.pageSize !== PAGE_SIZES[0]) params.set('page_size', state.pageSize);
  const text = params.toString();
  return `/projects/${projectId}/data${text ? `?${text}` : ''}`;
}

/** A filter is sent only once it says something: a value (both ends of a range), or `empty`. */
export function isComplete(item) {
  const v = item.value;
  if (item.operator === 'empty') return typeof v === 'boolean';
  if (item.operator === 'in' || item.operator === 'not_in') {
    return v && v.min !== undefined && v.min !== '' && v.max !== undefined && v.max !== '';
  }
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null && v !== '';
}

/** The API's query JSON for a state: complete filters, and the ordering. */
export function apiQuery(state) {
  const query = { filters: { conjunction: state.filters.conjunction, items: state.filters.items.filter(isComplete) } };
  if (state.ordering) query.ordering = [state.ordering];
  return query;
}
