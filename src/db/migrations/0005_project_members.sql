-- Who may work in a project. A project's creator is its first member; members add others.
-- Projects and users that exist before this migration keep what they had: everyone in
-- every project (Label Studio Community's single organization).
CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;
CREATE INDEX project_members_user ON project_members(user_id, project_id);
INSERT INTO project_members (project_id, user_id, created_at)
    SELECT p.id, u.id, p.created_at FROM projects p CROSS JOIN users u;
