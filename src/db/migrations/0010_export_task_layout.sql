-- Targets with the task layout write one object per task: an outbox entry names the task
-- of its annotation, which a deleted annotation can no longer tell.
ALTER TABLE export_outbox ADD COLUMN task_id INTEGER;
UPDATE export_outbox SET task_id = (SELECT task_id FROM annotations WHERE annotations.id = export_outbox.annotation_id);
