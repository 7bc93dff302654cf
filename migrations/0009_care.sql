-- Care alerts: a post that reads as distress, the moderators' card for it, who reaches out,
-- and the member's quiet window (no automated reply to them until quiet_until).
-- No words of the post are kept: the card links to it. `matched` is the detector's phrases,
-- one per line. Times are Unix milliseconds. (Queries: bot/db/care.py.)
CREATE TABLE care_alerts (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    matched TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    quiet_until INTEGER NOT NULL,
    card_channel_id INTEGER,
    card_message_id INTEGER,
    claimed_by INTEGER,
    claimed_at INTEGER,
    support_status TEXT,
    support_by INTEGER,
    support_at INTEGER,
    UNIQUE (guild_id, message_id)
);
CREATE INDEX care_alerts_member ON care_alerts (guild_id, member_id, quiet_until);
CREATE INDEX care_alerts_created ON care_alerts (created_at);
