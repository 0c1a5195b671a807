-- The trash: a deleted file or folder keeps its row, marked with when it went to the trash.
-- Only the top of a deleted subtree is marked; what lies below it is hidden with it. Names
-- are unique among the items not in the trash, so a trashed name can be used again at once.
ALTER TABLE files ADD COLUMN trashed_at BIGINT;
ALTER TABLE folders ADD COLUMN trashed_at BIGINT;

DROP INDEX files_unique_name;
CREATE UNIQUE INDEX files_unique_name ON files (owner_id, folder_id, name) WHERE trashed_at IS NULL;
DROP INDEX folders_unique_name;
CREATE UNIQUE INDEX folders_unique_name ON folders (owner_id, parent_id, name) WHERE trashed_at IS NULL;

CREATE INDEX files_trashed ON files (trashed_at) WHERE trashed_at IS NOT NULL;
CREATE INDEX folders_trashed ON folders (trashed_at) WHERE trashed_at IS NOT NULL;
