-- App before 20261123_reporter_email_lowercase: writes reporter_email as typed, compares with lower().
INSERT INTO incidents (title, severity, reporter_email) VALUES ('Probe: reporter (old app)', 'minor', 'Old.Reporter@Example.COM');
UPDATE incidents SET reporter_email = 'Other.Reporter@Example.COM' WHERE id = (SELECT max(id) FROM incidents);
SELECT id, title FROM incidents WHERE lower(reporter_email) = 'oncall.user1@example.com' ORDER BY created_at DESC LIMIT 20;
