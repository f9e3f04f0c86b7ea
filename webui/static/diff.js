// Streaming diffs: apply the edit lists of process_generating messages to the last value.
// Each edit is [action, path, value] with action in replace | append | add | delete.

function applyEdit(target, action, path, value) {
  if (path.length === 0) {
    if (action === "replace") return value;
    if (action === "append") return target + value;
    throw new Error(`cannot ${action} at the root of a value`);
  }
  let parent = target;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const key = path[path.length - 1];
  if (action === "replace") parent[key] = value;
  else if (action === "append") parent[key] += value;
  else if (action === "add") {
    if (Array.isArray(parent)) parent.splice(key, 0, value);
    else parent[key] = value;
  } else if (action === "delete") {
    if (Array.isArray(parent)) parent.splice(key, 1);
    else delete parent[key];
  } else throw new Error(`unknown diff action ${action}`);
  return target;
}

export function applyDiff(value, edits) {
  let result = value === undefined ? null : structuredClone(value);
  for (const [action, path, edit] of edits) result = applyEdit(result, action, path, edit);
  return result;
}
