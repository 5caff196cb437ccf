"""answer errors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:27:33.129919
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('answers', sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    op.drop_column('answers', 'error')
