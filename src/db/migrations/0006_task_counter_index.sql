-- The project counters (tasks, annotated, annotations, skipped, predictions) summed from this
-- index alone, without reading each task's data: the project page and the list answer in a
-- few milliseconds with 100,000 tasks instead of tens.
CREATE INDEX tasks_project_counters
    ON tasks(project_id, total_annotations, cancelled_annotations, total_predictions);
