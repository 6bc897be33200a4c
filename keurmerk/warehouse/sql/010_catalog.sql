-- The questionnaire catalogue as tables, so that SQL users can join labels. Filled from keurmerk.catalog
-- (questionnaire.toml) every time a warehouse is written; never edited by hand.
CREATE OR REPLACE TABLE services (service SMALLINT, label VARCHAR, last_period INTEGER);
CREATE OR REPLACE TABLE provinces (province VARCHAR, name VARCHAR);
CREATE OR REPLACE TABLE forms (form VARCHAR, label VARCHAR, audience VARCHAR);
CREATE OR REPLACE TABLE questions (
    form VARCHAR, question_id VARCHAR, kind VARCHAR, text VARCHAR, aspect BOOLEAN, parent VARCHAR
);
CREATE OR REPLACE TABLE categories (form VARCHAR, question_id VARCHAR, position SMALLINT, label VARCHAR);
CREATE OR REPLACE TABLE figures (
    figure_id VARCHAR, position SMALLINT, section VARCHAR, number VARCHAR, title VARCHAR, chart VARCHAR, form VARCHAR
);
