import { Alert, Badge, Button, Card, Grid, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, type Json } from '../api';
import { can, type Me } from '../auth';
import { useI18n } from '../i18n';
import { displayName } from './Profiles';

function Side({ side }: { side: Json | null }) {
  if (!side) return <Text c="dimmed">—</Text>;
  return (
    <Stack gap={2}>
      <Text fw={600}>{displayName(side.traits)}</Text>
      <Text size="xs" c="dimmed">
        {side.survivorId}
      </Text>
      {(side.identities ?? []).map((i: Json) => (
        <Text key={`${i.type}:${i.value}`} size="sm">
          <Badge size="xs" mr={4}>
            {i.type}
          </Badge>
          {i.value}
        </Text>
      ))}
    </Stack>
  );
}

/** Identity review (issue 8): doubtful pairs side by side, field by field; accept (merge) or reject. */
export function IdentityReview({ me }: { me: Me }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const queue = useQuery<Json>({
    queryKey: ['review'],
    queryFn: () => get('/v1/identity/review?status=open&limit=20'),
  });
  const decide = useMutation({
    mutationFn: ({ id, verdict }: { id: string; verdict: 'accept' | 'reject' }) =>
      api('POST', `/v1/identity/review/${id}/${verdict}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['review'] }),
  });
  const items: Json[] = queue.data?.items ?? [];
  return (
    <Stack>
      <Title order={2}>{t('review.title')}</Title>
      {decide.isError && <Alert color="red">{decide.error.message}</Alert>}
      {queue.isSuccess && items.length === 0 && <Text c="dimmed">{t('review.empty')}</Text>}
      {items.map((item) => (
        <Card key={item.id} withBorder data-testid="review-item">
          <Group justify="space-between" mb="sm">
            <Group>
              <Badge>{item.kind}</Badge>
              {item.match && (
                <Text size="sm">{t('review.probability', { p: (item.match.probability * 100).toFixed(1) })}</Text>
              )}
            </Group>
            <Text size="xs" c="dimmed">
              {dateTime(item.createdAt)}
            </Text>
          </Group>
          <Text size="sm" mb="sm">
            {item.reason}
          </Text>
          <Grid>
            <Grid.Col span={6}>
              <Side side={item.left} />
            </Grid.Col>
            <Grid.Col span={6}>
              <Side side={item.right} />
            </Grid.Col>
          </Grid>
          {(item.comparison ?? []).length > 0 && (
            <Table mt="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('review.field')}</Table.Th>
                  <Table.Th>{t('review.left')}</Table.Th>
                  <Table.Th>{t('review.right')}</Table.Th>
                  <Table.Th>{t('review.level')}</Table.Th>
                  <Table.Th>{t('review.weight')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {item.comparison.map((c: Json) => (
                  <Table.Tr key={c.field}>
                    <Table.Td>{c.field}</Table.Td>
                    <Table.Td>{c.left ?? '—'}</Table.Td>
                    <Table.Td>{c.right ?? '—'}</Table.Td>
                    <Table.Td>{c.level}</Table.Td>
                    <Table.Td c={c.counted >= 0 ? 'green' : 'red'}>{c.counted.toFixed(2)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          {can(me, 'identity.manage') && (
            <Group mt="sm">
              <Button color="green" onClick={() => decide.mutate({ id: item.id, verdict: 'accept' })}>
                {t('review.accept')}
              </Button>
              <Button color="red" variant="light" onClick={() => decide.mutate({ id: item.id, verdict: 'reject' })}>
                {t('review.reject')}
              </Button>
            </Group>
          )}
        </Card>
      ))}
    </Stack>
  );
}
