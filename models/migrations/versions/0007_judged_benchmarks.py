"""judged benchmarks: an evaluation's judge (its LLM and the judge definition read from the
benchmark's files), an answer's verdicts, a call's first-token log-probabilities, and the
baselines' answers of pairwise judged benchmarks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('evaluations',
                  sa.Column("benchmark_judge", sqlmodel.sql.sqltypes.AutoString(),
                            nullable=True))
    op.add_column('evaluations', sa.Column('judge_definition', JSONB(), nullable=True))
    op.add_column('answers', sa.Column('judgment', JSONB(), nullable=True))
    op.add_column('llm_calls', sa.Column('response_logprobs', JSONB(), nullable=True))
    op.create_table(
        'baseline_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('answer', JSONB(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'question_id',
                            name='uq_baseline_answers_source_question'),
    )
    op.create_index(op.f('ix_baseline_answers_source'), 'baseline_answers', ['source'])


def downgrade() -> None:
    op.drop_index(op.f('ix_baseline_answers_source'), table_name='baseline_answers')
    op.drop_table('baseline_answers')
    op.drop_column('llm_calls', 'response_logprobs')
    op.drop_column('answers', 'judgment')
    op.drop_column('evaluations', 'judge_definition')
    op.drop_column('evaluations', 'benchmark_judge')
