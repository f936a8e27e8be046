-- Each project's counters, kept in its row as its tasks change, so a project page, the
-- project list and every Data Manager page read one row instead of counting the project's
-- tasks (235 ms at 1,000,000 tasks; the Data Manager asks on every page). New tasks are
-- counted by the insert itself, one update per batch (a new task has no annotation or
-- prediction yet); deleted tasks and changed task counters by these triggers, whichever
-- statement makes the change.
ALTER TABLE projects ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN labeled_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN annotation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN skipped_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN prediction_count INTEGER NOT NULL DEFAULT 0;

UPDATE projects SET (task_count, labeled_count, annotation_count, skipped_count, prediction_count) =
    (SELECT COUNT(*), COALESCE(SUM(total_annotations > 0), 0), COALESCE(SUM(total_annotations), 0),
            COALESCE(SUM(cancelled_annotations), 0), COALESCE(SUM(total_predictions), 0)
     FROM tasks WHERE tasks.project_id = projects.id);

CREATE TRIGGER tasks_uncounted AFTER DELETE ON tasks BEGIN
    UPDATE projects SET task_count = task_count - 1,
        labeled_count = labeled_count - (OLD.total_annotations > 0),
        annotation_count = annotation_count - OLD.total_annotations,
        skipped_count = skipped_count - OLD.cancelled_annotations,
        prediction_count = prediction_count - OLD.total_predictions
    WHERE id = OLD.project_id;
END;

CREATE TRIGGER tasks_recounted
AFTER UPDATE OF total_annotations, cancelled_annotations, total_predictions ON tasks BEGIN
    UPDATE projects SET
        labeled_count = labeled_count + (NEW.total_annotations > 0) - (OLD.total_annotations > 0),
        annotation_count = annotation_count + NEW.total_annotations - OLD.total_annotations,
        skipped_count = skipped_count + NEW.cancelled_annotations - OLD.cancelled_annotations,
        prediction_count = prediction_count + NEW.total_predictions - OLD.total_predictions
    WHERE id = NEW.project_id;
END;
