-- Sharded processes (steward run --shards): who holds a reminder's claim and until when.
-- A process claims due reminders of the servers it owns and stamps them with its own token
-- (claimed_by) and a lease (claimed_until, Unix ms). If it dies, another process that owns
-- those servers takes the rows back once the lease has expired (running -> pending; sending
-- -> pending with maybe_sent, so it looks for the message before sending again).
-- (Queries: bot/db/reminders.py.)
ALTER TABLE reminders ADD COLUMN claimed_by TEXT;
ALTER TABLE reminders ADD COLUMN claimed_until INTEGER;

-- Expired leases are found from the head of this index (only claimed rows are in it).
CREATE INDEX reminders_claimed ON reminders (claimed_until) WHERE status IN ('running', 'sending');
