"""Bureau checks: the applicant's consent and the credit-bureau report kept with each application.

One row per application submitted since the bureau connector exists (older applications have
none). The national id is kept masked (its last four characters): the full id is sent to the
bureau and never stored. The report's columns are null when no report was obtained (no consent,
or the bureau was unreachable).
"""

from alembic import op

revision = "0004"
down_revision = "0003"

UPGRADE = """
CREATE TABLE bureau_checks (
    application_id      text PRIMARY KEY REFERENCES loan_applications (id),
    status              smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
    consent_time        timestamptz,
    national_id_masked  text NOT NULL DEFAULT '',
    bureau              text,
    report_reference    text,
    score_band          smallint,
    open_accounts       integer,
    delinquencies_24m   integer,
    defaults            integer,
    inquiries_6m        integer,
    history_months      integer,
    thin_file           boolean,
    pull_time           timestamptz,
    CHECK ((status = 1) = (report_reference IS NOT NULL)),
    CHECK ((status = 3) = (consent_time IS NULL))
);
"""

DOWNGRADE = """
DROP TABLE bureau_checks;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
