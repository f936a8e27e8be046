-- Task lists count a project's predictions without scanning its tasks.
CREATE INDEX predictions_project ON predictions(project_id);
