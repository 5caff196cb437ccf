"""job leases and evaluation purpose

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:38:40.545448
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('evaluations', sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(), server_default='run', nullable=False))
    op.add_column('search_jobs', sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('search_jobs', sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('search_jobs', sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    op.drop_column('search_jobs', 'error')
    op.drop_column('search_jobs', 'lease_expires_at')
    op.drop_column('search_jobs', 'lease_owner')
    op.drop_column('evaluations', 'purpose')
