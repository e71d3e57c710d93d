// IndexedDB on this tablet: drafts and the outbox keyed by [user id, encounter id], and per-user
// facts (last sync). Keyed by user so that on a shared tablet no one sees another's unsent work.
let opened = null;

function open() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open("crewlog", 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("drafts", { keyPath: ["user", "id"] });
      db.createObjectStore("outbox", { keyPath: ["user", "id"] });
      db.createObjectStore("meta", { keyPath: "user" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

// Run work(store) in one transaction; resolve with its request's result once committed.
export async function tx(name, mode, work) {
  const t = (await open()).transaction(name, mode);
  const request = work(t.objectStore(name));
  await new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = t.onabort = () => reject(t.error);
  });
  return request?.result;
}

export const get = (name, key) => tx(name, "readonly", (s) => s.get(key));
export const put = (name, value) => tx(name, "readwrite", (s) => s.put(value));
export const remove = (name, key) => tx(name, "readwrite", (s) => s.delete(key));
// Return every record of one user (keys [user, id] sort between [user] and [user, []]).
export const all = (name, user) => tx(name, "readonly", (s) => s.getAll(IDBKeyRange.bound([user], [user, []])));
