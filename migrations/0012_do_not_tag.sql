-- Do-not-tag: members moderators marked so Steward never tags, reminds, suggests groups to or
-- welcomes them again (one who died, or who asked for quiet). One row per marked member;
-- removing the mark deletes the row (the audit log keeps who marked and unmarked, and when).
-- `reason` is 'in_memoriam' or 'asked'. Times are Unix milliseconds. (Queries: bot/db/care.py.)
CREATE TABLE do_not_tag (
    guild_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    marked_by INTEGER,
    marked_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);
