import {
  ActionIcon,
  Alert,
  Button,
  Card,
  Group,
  NumberInput,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useLocation } from 'wouter';
import { api, type Json } from '../api';
import { useI18n } from '../i18n';

/** One row of the builder; `toCondition` turns it into the audience language (docs/audiences.md). */
type Row =
  | { kind: 'trait'; key: string; op: string; value: string }
  | { kind: 'event'; name: string; atLeast: number; lastDays: number | '' }
  | { kind: 'consent'; purpose: string; granted: boolean };

const OPS = ['equals', 'not_equals', 'contains', 'starts_with', 'exists', 'not_exists', 'gt', 'gte', 'lt', 'lte'];
const NUMERIC = new Set(['gt', 'gte', 'lt', 'lte']);

function toCondition(r: Row): Json | undefined {
  if (r.kind === 'trait') {
    if (!r.key) return undefined;
    if (r.op === 'exists' || r.op === 'not_exists') return { type: 'trait', key: r.key, compare: { op: r.op } };
    if (r.value === '') return undefined;
    const num = Number(r.value);
    const value = NUMERIC.has(r.op) ? num : r.value;
    if (NUMERIC.has(r.op) && !Number.isFinite(num)) return undefined;
    return { type: 'trait', key: r.key, compare: { op: r.op, value } };
  }
  if (r.kind === 'event') {
    if (!r.name) return undefined;
    return {
      type: 'event',
      name: r.name,
      ...(r.atLeast > 1 ? { aggregate: { fn: 'count', compare: { op: 'gte', value: r.atLeast } } } : {}),
      ...(r.lastDays ? { window: { last: r.lastDays, unit: 'days' } } : {}),
    };
  }
  return r.purpose ? { type: 'consent', purpose: r.purpose, state: r.granted ? 'granted' : 'denied' } : undefined;
}

function toDefinition(rows: Row[]): Json | undefined {
  const conditions = rows.map(toCondition).filter(Boolean);
  if (conditions.length === 0) return undefined;
  return conditions.length === 1 ? conditions[0] : { type: 'and', conditions };
}

const newRow = (kind: Row['kind']): Row =>
  kind === 'trait'
    ? { kind, key: '', op: 'equals', value: '' }
    : kind === 'event'
      ? { kind, name: '', atLeast: 1, lastDays: 90 }
      : { kind, purpose: 'marketing', granted: true };

/** The no-code audience builder (issue 8): conditions, a live estimate while editing, the readable summary, save. */
export function AudienceBuilder() {
  const { t, lang, number } = useI18n();
  const [, navigate] = useLocation();
  const client = useQueryClient();
  const [rows, setRows] = useState<Row[]>([newRow('event')]);
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const definition = toDefinition(rows);
  const [debounced] = useDebouncedValue(definition, 350);
  const preview = useQuery<Json>({
    queryKey: ['preview', debounced],
    queryFn: () => api('POST', '/v1/audiences/preview', { definition: debounced }),
    enabled: debounced !== undefined,
    staleTime: 30_000,
  });
  const save = useMutation({
    mutationFn: () => api('POST', '/v1/audiences', { key, name, definition }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['audiences'] });
      navigate('/audiences');
    },
  });
  const set = (i: number, patch: Partial<Row>) =>
    setRows((rs) => rs.map((r, j) => (j === i ? ({ ...r, ...patch } as Row) : r)));

  return (
    <Stack>
      <Title order={2}>{t('audiences.builder')}</Title>
      <Group grow>
        <TextInput
          label={t('audiences.name')}
          value={name}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setName(v);
            setKey(
              v
                .toLowerCase()
                .normalize('NFD')
                .replace(/[\u0300-\u036f]/g, '')
                .replace(/[^a-z0-9]+/g, '-')
                .replace(/^-|-$/g, ''),
            );
          }}
        />
        <TextInput label={t('audiences.key')} value={key} onChange={(e) => setKey(e.currentTarget.value)} />
      </Group>
      <Text fw={600}>{t('audiences.all')}</Text>
      {rows.map((r, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
        <Card key={i} withBorder data-testid="condition">
          <Group align="end" wrap="wrap">
            <Select
              label={t('audiences.kind')}
              value={r.kind}
              allowDeselect={false}
              data={[
                { value: 'trait', label: t('audiences.kind.trait') },
                { value: 'event', label: t('audiences.kind.event') },
                { value: 'consent', label: t('audiences.kind.consent') },
              ]}
              onChange={(v) => setRows((rs) => rs.map((x, j) => (j === i ? newRow(v as Row['kind']) : x)))}
            />
            {r.kind === 'trait' && (
              <>
                <TextInput
                  label={t('audiences.traitKey')}
                  value={r.key}
                  onChange={(e) => set(i, { key: e.currentTarget.value })}
                />
                <Select
                  label={t('audiences.operator')}
                  value={r.op}
                  allowDeselect={false}
                  data={OPS}
                  onChange={(v) => set(i, { op: v ?? 'equals' })}
                />
                {r.op !== 'exists' && r.op !== 'not_exists' && (
                  <TextInput
                    label={t('audiences.value')}
                    value={r.value}
                    onChange={(e) => set(i, { value: e.currentTarget.value })}
                  />
                )}
              </>
            )}
            {r.kind === 'event' && (
              <>
                <TextInput
                  label={t('audiences.eventName')}
                  value={r.name}
                  onChange={(e) => set(i, { name: e.currentTarget.value })}
                />
                <NumberInput
                  label={t('audiences.atLeast')}
                  min={1}
                  value={r.atLeast}
                  onChange={(v) => set(i, { atLeast: Number(v) || 1 })}
                />
                <NumberInput
                  label={t('audiences.lastDays')}
                  min={1}
                  max={3650}
                  value={r.lastDays}
                  onChange={(v) => set(i, { lastDays: v === '' ? '' : Number(v) })}
                />
              </>
            )}
            {r.kind === 'consent' && (
              <>
                <TextInput
                  label={t('audiences.purpose')}
                  value={r.purpose}
                  onChange={(e) => set(i, { purpose: e.currentTarget.value })}
                />
                <Switch
                  label={t('audiences.granted')}
                  checked={r.granted}
                  onChange={(e) => set(i, { granted: e.currentTarget.checked })}
                />
              </>
            )}
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={t('audiences.remove')}
              onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
            >
              ✕
            </ActionIcon>
          </Group>
        </Card>
      ))}
      <Group>
        <Button variant="light" onClick={() => setRows((rs) => [...rs, newRow('trait')])}>
          {t('audiences.addCondition')}
        </Button>
      </Group>
      <Card withBorder data-testid="estimate">
        <Text fw={600}>{t('audiences.estimate')}</Text>
        {preview.isFetching && <Text c="dimmed">{t('audiences.estimating')}</Text>}
        {preview.data && !preview.isFetching && (
          <Text size="xl" data-testid="estimate-count" data-count={preview.data.estimate.count}>
            {t('audiences.estimateValue', {
              count: number(preview.data.estimate.count),
              low: number(preview.data.estimate.low),
              high: number(preview.data.estimate.high),
            })}
          </Text>
        )}
        {preview.isError && <Alert color="red">{preview.error.message}</Alert>}
        {preview.data && (
          <Text size="sm" c="dimmed" data-testid="summary">
            {t('audiences.readable')}: {preview.data.summary?.[lang] ?? preview.data.summary?.en}
          </Text>
        )}
      </Card>
      {save.isError && <Alert color="red">{save.error.message}</Alert>}
      <Group>
        <Button disabled={!definition || !name || !key} loading={save.isPending} onClick={() => save.mutate()}>
          {t('audiences.save')}
        </Button>
      </Group>
    </Stack>
  );
}
