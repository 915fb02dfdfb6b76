-- App after 20261123_reporter_email_lowercase: only reporter_email_normalized, always lower case.
INSERT INTO incidents (title, severity, reporter_email_normalized) VALUES ('Probe: reporter (new app)', 'minor', 'new.reporter@example.com');
UPDATE incidents SET reporter_email_normalized = 'other.reporter@example.com' WHERE id = (SELECT max(id) FROM incidents);
SELECT id, title FROM incidents WHERE reporter_email_normalized = 'oncall.user1@example.com' ORDER BY created_at DESC LIMIT 20;
