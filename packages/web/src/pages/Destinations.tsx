import { Alert, Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, get, type Json } from '../api';
import { can, type Me } from '../auth';
import { useI18n } from '../i18n';

/** Destinations with their delivery counts, delivery log and dead-letter queue, and the replay of dead letters. */
export function Destinations({ me }: { me: Me }) {
  const { t, dateTime, number } = useI18n();
  const client = useQueryClient();
  const list = useQuery<Json>({ queryKey: ['destinations'], queryFn: () => get('/v1/destinations') });
  const [open, setOpen] = useState<string | null>(null);
  const dlq = useQuery<Json>({
    queryKey: ['dlq', open],
    queryFn: () => get(`/v1/destinations/${open}/dlq?limit=50`),
    enabled: open !== null,
  });
  const log = useQuery<Json>({
    queryKey: ['deliveries', open],
    queryFn: () => get(`/v1/destinations/${open}/deliveries?limit=20`),
    enabled: open !== null,
  });
  const replay = useMutation<Json>({
    mutationFn: () => api('POST', `/v1/destinations/${open}/dlq/replay`, {}),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['destinations'] });
      await client.invalidateQueries({ queryKey: ['dlq', open] });
      await client.invalidateQueries({ queryKey: ['deliveries', open] });
    },
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('destinations.title')}</Title>
        {can(me, 'destinations.write') && (
          <Button component={Link} href="/destinations/new">
            {t('destinations.new')}
          </Button>
        )}
      </Group>
      <Table data-testid="destination-list">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('destinations.name')}</Table.Th>
            <Table.Th>{t('destinations.type')}</Table.Th>
            <Table.Th>{t('destinations.delivered')}</Table.Th>
            <Table.Th>{t('destinations.pending')}</Table.Th>
            <Table.Th>{t('destinations.dead')}</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(list.data?.items ?? []).map((d: Json) => (
            <Table.Tr key={d.id}>
              <Table.Td>{d.name}</Table.Td>
              <Table.Td>{d.type}</Table.Td>
              <Table.Td>{number(d.counts.delivered)}</Table.Td>
              <Table.Td>{number(d.counts.pending)}</Table.Td>
              <Table.Td>
                <Badge color={d.counts.dead > 0 ? 'red' : 'gray'}>{number(d.counts.dead)}</Badge>
              </Table.Td>
              <Table.Td>
                <Button
                  size="xs"
                  variant="light"
                  onClick={() => setOpen(d.id)}
                  aria-label={`${t('destinations.open')} ${d.name}`}
                >
                  {t('destinations.open')}
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {open && (
        <Card withBorder data-testid="dlq">
          <Group justify="space-between" mb="sm">
            <Title order={4}>{t('destinations.dlq')}</Title>
            {can(me, 'destinations.write') && (
              <Button
                color="orange"
                disabled={(dlq.data?.items ?? []).length === 0}
                loading={replay.isPending}
                onClick={() => replay.mutate()}
              >
                {t('destinations.replay')}
              </Button>
            )}
          </Group>
          {replay.data && (
            <Alert color="green" mb="sm" data-testid="replayed">
              {t('destinations.replayed', { count: replay.data.replayed })}
            </Alert>
          )}
          {(dlq.data?.items ?? []).length === 0 && <Text c="dimmed">{t('common.none')}</Text>}
          <Table>
            <Table.Tbody>
              {(dlq.data?.items ?? []).map((d: Json) => (
                <Table.Tr key={d.id}>
                  <Table.Td>{dateTime(d.createdAt)}</Table.Td>
                  <Table.Td>{d.kind}</Table.Td>
                  <Table.Td>
                    {d.lastStatus ?? ''} {d.reason}
                  </Table.Td>
                  <Table.Td>{d.attempts}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Title order={5} mt="md" mb="xs">
            {t('destinations.log')}
          </Title>
          <Table>
            <Table.Tbody>
              {(log.data?.items ?? []).map((d: Json) => (
                <Table.Tr key={d.id}>
                  <Table.Td>{dateTime(d.createdAt)}</Table.Td>
                  <Table.Td>{d.kind}</Table.Td>
                  <Table.Td>
                    <Badge color={d.status === 'delivered' ? 'green' : d.status === 'dead' ? 'red' : 'gray'}>
                      {d.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{d.latencyMs === null ? '' : `${d.latencyMs} ms`}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
