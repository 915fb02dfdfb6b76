\set id random(1, :rows)
UPDATE acct SET amount = amount + 1 WHERE id = :id;
