-- A held post's one reviewer ping (queue_ping_minutes after it was held): when it went out.
-- Claimed with a conditional update, so a restart or a second timer never pings twice.
ALTER TABLE holds ADD COLUMN pinged_at INTEGER;
