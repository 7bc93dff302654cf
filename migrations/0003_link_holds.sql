-- New-member link holds: held posts, their attachments, trusted members, accepted-post counts.
-- Content, links, titles, reasons and attachment bytes are personal: they are nulled/deleted
-- `retention_days` after a decision (purged_at set). The audit log keeps ids and links only.

CREATE TABLE holds (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,          -- channel or thread the post was in
    parent_id       INTEGER,                   -- parent channel when channel_id is a thread
    message_id      INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    kind            TEXT    NOT NULL,          -- message | edit | forum_post | forward | catchup
    content         TEXT,                      -- NULL once purged
    forum_title     TEXT,                      -- held forum starter post: its title
    forum_tag_ids   TEXT    NOT NULL DEFAULT '[]',
    reply_to_url    TEXT,
    links           TEXT,                      -- JSON [{text, url, domain}]; NULL once purged
    dup_key         TEXT    NOT NULL,          -- same member, same words (see domain.holds)
    repeat_count    INTEGER NOT NULL DEFAULT 1,
    step            TEXT    NOT NULL DEFAULT 'stored',  -- stored -> removed -> told -> queued
    removal         TEXT,                      -- removed | failed | gone
    member_told     TEXT,                      -- dm | channel | both | none
    status          TEXT    NOT NULL DEFAULT 'pending', -- pending | approving | approved | rejected | closed_left
    queue_channel_id INTEGER,
    queue_message_id INTEGER,
    decided_by      INTEGER,
    decided_at      INTEGER,
    decision        TEXT,                      -- approve | edit | trust | reject | timeout | ban
    reason          TEXT,                      -- rejection reason; NULL once purged
    repost_url      TEXT,
    reminded_at     INTEGER,
    created_at      INTEGER NOT NULL,
    purged_at       INTEGER,
    UNIQUE (guild_id, message_id)
);

CREATE INDEX holds_status ON holds (guild_id, status, created_at);
CREATE INDEX holds_member ON holds (guild_id, member_id, status);
CREATE INDEX holds_decided ON holds (status, decided_at);

CREATE TABLE hold_attachments (
    id              INTEGER PRIMARY KEY,
    hold_id         INTEGER NOT NULL REFERENCES holds (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    filename        TEXT    NOT NULL,
    content_type    TEXT,
    size            INTEGER NOT NULL,
    data            BLOB,                      -- NULL when not kept or purged
    not_kept_reason TEXT                       -- too large | timed out | download failed
);

CREATE INDEX hold_attachments_hold ON hold_attachments (hold_id, position);

CREATE TABLE trusted_members (
    guild_id        INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    trusted_by      INTEGER,
    trusted_at      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);

-- Only kept while a guild uses min_posts; one row per member still counting up.
CREATE TABLE member_post_counts (
    guild_id        INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    accepted        INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);
