"""question turns and references, answer texts, call roles and attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('questions', sa.Column('turns', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('questions', sa.Column('system_prompt', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('questions', sa.Column('reference', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    op.add_column('answers', sa.Column('final_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('answers', sa.Column('score_note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('llm_calls', sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('llm_calls', sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
    op.add_column('llm_calls', sa.Column('finish_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('llm_calls', sa.Column('request_messages', postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('llm_calls', 'request_messages')
    op.drop_column('llm_calls', 'finish_reason')
    op.drop_column('llm_calls', 'attempt')
    op.drop_column('llm_calls', 'role')
    op.drop_column('answers', 'score_note')
    op.drop_column('answers', 'final_text')
    op.drop_column('questions', 'reference')
    op.drop_column('questions', 'system_prompt')
    op.drop_column('questions', 'turns')
