-- Where an interrupted import sync resumes: the last object key whose tasks are committed,
-- in the provider's listing order. NULL when the last sync ran to its end.
ALTER TABLE storages ADD COLUMN sync_cursor TEXT;
