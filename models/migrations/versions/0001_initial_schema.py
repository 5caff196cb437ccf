"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 21:03:51.459813
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('probes',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('delay_s', sa.Float(), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('search_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('study_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('study_name')
    )
    op.create_index(op.f('ix_search_jobs_name'), 'search_jobs', ['name'], unique=False)
    op.create_index(op.f('ix_search_jobs_status'), 'search_jobs', ['status'], unique=False)
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('trial_number', sa.Integer(), nullable=True),
    sa.Column('rung', sa.Integer(), nullable=True),
    sa.Column('benchmark', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('split', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('architecture', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('architecture_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('question_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['search_jobs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'trial_number', 'rung', name='uq_evaluations_trial_rung')
    )
    op.create_index(op.f('ix_evaluations_architecture_hash'), 'evaluations', ['architecture_hash'], unique=False)
    op.create_index(op.f('ix_evaluations_job_id'), 'evaluations', ['job_id'], unique=False)
    op.create_index(op.f('ix_evaluations_status'), 'evaluations', ['status'], unique=False)
    op.create_table('probe_results',
    sa.Column('probe_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['probe_id'], ['probes.id'], ),
    sa.PrimaryKeyConstraint('probe_id')
    )
    op.create_table('answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('final_answer', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('latency_s', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('evaluation_id', 'question_id', name='uq_answers_evaluation_question')
    )
    op.create_index(op.f('ix_answers_evaluation_id'), 'answers', ['evaluation_id'], unique=False)
    op.create_table('layer_outputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('layer_index', sa.Integer(), nullable=False),
    sa.Column('state', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('evaluation_id', 'question_id', 'layer_index', name='uq_layer_outputs_key')
    )
    op.create_index(op.f('ix_layer_outputs_evaluation_id'), 'layer_outputs', ['evaluation_id'], unique=False)
    op.create_table('llm_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('endpoint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('llm_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sample_index', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('layer_index', sa.Integer(), nullable=True),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('latency_s', sa.Float(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('error_class', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('response_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_hash', 'evaluation_id', 'question_id', 'layer_index', name='uq_llm_calls_use', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_llm_calls_evaluation_id'), 'llm_calls', ['evaluation_id'], unique=False)
    op.create_index('ix_llm_calls_hash_paid', 'llm_calls', ['request_hash', 'status', 'cache_hit'], unique=False)
    op.create_index(op.f('ix_llm_calls_llm_name'), 'llm_calls', ['llm_name'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_llm_calls_llm_name'), table_name='llm_calls')
    op.drop_index('ix_llm_calls_hash_paid', table_name='llm_calls')
    op.drop_index(op.f('ix_llm_calls_evaluation_id'), table_name='llm_calls')
    op.drop_table('llm_calls')
    op.drop_index(op.f('ix_layer_outputs_evaluation_id'), table_name='layer_outputs')
    op.drop_table('layer_outputs')
    op.drop_index(op.f('ix_answers_evaluation_id'), table_name='answers')
    op.drop_table('answers')
    op.drop_table('probe_results')
    op.drop_index(op.f('ix_evaluations_status'), table_name='evaluations')
    op.drop_index(op.f('ix_evaluations_job_id'), table_name='evaluations')
    op.drop_index(op.f('ix_evaluations_architecture_hash'), table_name='evaluations')
    op.drop_table('evaluations')
    op.drop_index(op.f('ix_search_jobs_status'), table_name='search_jobs')
    op.drop_index(op.f('ix_search_jobs_name'), table_name='search_jobs')
    op.drop_table('search_jobs')
    op.drop_table('probes')
