-- Indexes for closing a departed member's reminders and for the doctor's reminder checks.
-- (Queries: ReminderRepository in bot/db/followups.py.)

-- A member leaves: their pending reminders, without reading the guild's whole queue.
CREATE INDEX reminders_member_pending ON reminders (guild_id, member_id) WHERE status = 'pending';
-- The doctor: reminders that failed recently in a guild.
CREATE INDEX reminders_failed ON reminders (guild_id, fired_at) WHERE status = 'failed';
