"""code benchmarks: each test run's result beside an answer, and whether a run's code went
unsandboxed (the user's explicit --unsafe-no-sandbox)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('answers', sa.Column('test_results', JSONB(), nullable=True))
    op.add_column('evaluations',
                  sa.Column('unsafe_no_sandbox', sa.Boolean(), nullable=False,
                            server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('evaluations', 'unsafe_no_sandbox')
    op.drop_column('answers', 'test_results')
