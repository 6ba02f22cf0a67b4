import { Alert, Badge, Button, Card, Code, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, get, type Json } from '../api';
import { can, type Me } from '../auth';
import { useI18n } from '../i18n';
import { SourceImport } from './SourceImport';

const STATUS_COLOR: Record<string, string> = { processed: 'green', pending: 'gray', quarantined: 'red' };

/** Sources and the live event debugger (issue 8): a source's calls as they arrive, polled every 2 s. */
export function Sources({ me }: { me: Me }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const [newName, setNewName] = useState('');
  const [shownKey, setShownKey] = useState<{ name: string; writeKey: string } | null>(null);
  const manage = can(me, 'sources.manage');
  const create = useMutation<Json>({
    mutationFn: () => api('POST', '/v1/sources', { name: newName }),
    onSuccess: async (s) => {
      setShownKey({ name: s.name, writeKey: s.writeKey });
      setNewName('');
      await client.invalidateQueries({ queryKey: ['sources'] });
    },
  });
  const rotate = useMutation<Json, Error, string>({
    mutationFn: (id) => api('POST', `/v1/sources/${id}/rotate-key`),
    onSuccess: (s) => setShownKey({ name: s.name, writeKey: s.writeKey }),
  });
  const sources = useQuery<Json>({ queryKey: ['sources'], queryFn: () => get('/v1/sources') });
  const [source, setSource] = useState<string | null>(null);
  const [calls, setCalls] = useState<Json[]>([]);
  const items: Json[] = sources.data?.items ?? [];
  const chosen = source ?? items[0]?.id ?? null;

  useEffect(() => {
    if (!chosen) return;
    let after = 0;
    let stopped = false;
    setCalls([]);
    const poll = async () => {
      try {
        const page = await get(`/v1/sources/${chosen}/debugger?limit=50&after=${after}`);
        if (stopped) return;
        // Ask again from the pipeline's position: calls still pending then come back with their new status.
        after = Math.min(page.last, Math.max(0, page.processedUpTo));
        // Newer calls on top; a call seen before may have changed status (pending → processed).
        const fresh: Json[] = page.items;
        setCalls((old) => {
          const seen = new Set(fresh.map((c) => c.position));
          return [...fresh, ...old.filter((c) => !seen.has(c.position))].slice(0, 50);
        });
      } catch {
        // the next poll tries again
      }
    };
    void poll();
    const timer = setInterval(poll, 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [chosen]);

  return (
    <Stack>
      <Title order={2}>{t('sources.title')}</Title>
      {manage && (
        <Group align="end">
          <TextInput label={t('sources.newName')} value={newName} onChange={(e) => setNewName(e.currentTarget.value)} />
          <Button disabled={!newName} loading={create.isPending} onClick={() => create.mutate()}>
            {t('sources.create')}
          </Button>
        </Group>
      )}
      {create.isError && <Alert color="red">{create.error.message}</Alert>}
      {shownKey && (
        <Alert color="yellow" title={t('sources.keyOnce', { name: shownKey.name })}>
          <Code data-testid="write-key">{shownKey.writeKey}</Code>
        </Alert>
      )}
      <Table data-testid="source-list">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('sources.name')}</Table.Th>
            <Table.Th>{t('sources.kind')}</Table.Th>
            <Table.Th>{t('sources.id')}</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{s.name}</Table.Td>
              <Table.Td>{s.kind}</Table.Td>
              <Table.Td>
                <Code>{s.id}</Code>
              </Table.Td>
              <Table.Td>
                {manage && (
                  <Button size="compact-xs" variant="light" onClick={() => rotate.mutate(s.id)}>
                    {t('sources.rotate')}
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {manage && chosen && <SourceImport sourceId={chosen} />}
      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Title order={4}>{t('sources.debugger')}</Title>
          <Select
            aria-label={t('sources.name')}
            data-testid="debugger-source"
            value={chosen}
            allowDeselect={false}
            onChange={setSource}
            data={items.map((s) => ({ value: s.id, label: s.name }))}
          />
        </Group>
        <Text size="sm" c="dimmed" mb="sm">
          {t('sources.debuggerHelp')}
        </Text>
        <Table striped data-testid="debugger">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('sources.received')}</Table.Th>
              <Table.Th>{t('sources.call')}</Table.Th>
              <Table.Th>{t('sources.status')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {calls.map((c) => (
              <Table.Tr key={c.position} data-status={c.status}>
                <Table.Td>{dateTime(c.receivedAt)}</Table.Td>
                <Table.Td>
                  <Text size="sm" fw={600}>
                    {c.type}
                    {c.event ? ` · ${c.event}` : ''}
                  </Text>
                  <Text size="xs" c="dimmed" lineClamp={2}>
                    {JSON.stringify(c.call.properties ?? c.call.traits ?? {})}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[c.status] ?? 'gray'}>
                    {t(`sources.status.${c.status}` as 'sources.status.pending')}
                  </Badge>
                  {c.reason && (
                    <Text size="xs" c="red">
                      {c.code}: {c.reason}
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
    </Stack>
  );
}
