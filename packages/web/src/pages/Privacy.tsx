import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Select,
  Stack,
  Table,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, get, type Json } from '../api';
import { can, type Me } from '../auth';
import { ConsentTable } from '../components/ConsentTable';
import { useI18n } from '../i18n';

/** `key=value` lines of a rectification, values as text (JSON when they parse as JSON). */
function corrections(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const raw = line.slice(eq + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // text as typed
    }
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

/** Privacy (issue 8): data-subject requests and their status, consent statistics, the audit log. */
export function Privacy({ me }: { me: Me }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const [type, setType] = useState<string>('access');
  const [idType, setIdType] = useState('email');
  const [value, setValue] = useState('');
  const [fix, setFix] = useState('');
  const requests = useQuery<Json>({
    queryKey: ['dsr'],
    queryFn: () => get('/v1/privacy/requests?limit=50'),
    enabled: can(me, 'privacy.requests'),
    refetchInterval: 5000,
  });
  const audit = useQuery<Json>({
    queryKey: ['audit'],
    queryFn: () => get('/v1/audit-log?limit=50'),
    enabled: can(me, 'audit.read'),
  });
  const stats = useQuery<Json>({ queryKey: ['stats'], queryFn: () => get('/v1/stats/overview?days=30') });
  const create = useMutation<Json>({
    mutationFn: () =>
      api('POST', '/v1/privacy/requests', {
        type,
        identifier: { type: idType, value },
        ...(type === 'rectify' ? { corrections: corrections(fix) } : {}),
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['dsr'] }),
  });
  return (
    <Stack>
      <Title order={2}>{t('privacy.title')}</Title>
      {can(me, 'privacy.requests') && (
        <Card withBorder>
          <Title order={4} mb="sm">
            {t('privacy.newRequest')}
          </Title>
          <Group align="end">
            <Select
              label={t('privacy.type')}
              value={type}
              allowDeselect={false}
              onChange={(v) => setType(v ?? 'access')}
              data={[
                { value: 'access', label: t('privacy.type.access') },
                { value: 'rectify', label: t('privacy.type.rectify') },
                { value: 'erase', label: t('privacy.type.erase') },
              ]}
            />
            <TextInput
              label={t('privacy.identifierType')}
              value={idType}
              onChange={(e) => setIdType(e.currentTarget.value)}
            />
            <TextInput
              label={t('privacy.identifierValue')}
              value={value}
              onChange={(e) => setValue(e.currentTarget.value)}
            />
            <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!value}>
              {t('privacy.submit')}
            </Button>
          </Group>
          {type === 'rectify' && (
            <Textarea
              mt="sm"
              label={t('privacy.corrections')}
              placeholder="lastName=Martin"
              value={fix}
              onChange={(e) => setFix(e.currentTarget.value)}
            />
          )}
          {create.isError && (
            <Alert color="red" mt="sm">
              {create.error.message}
            </Alert>
          )}
          {create.data && (
            <Alert color="green" mt="sm">
              {t('privacy.created', { id: create.data.id, status: create.data.status })}
            </Alert>
          )}
        </Card>
      )}
      {can(me, 'privacy.requests') && (
        <Card withBorder>
          <Title order={4} mb="sm">
            {t('privacy.requests')}
          </Title>
          <Table data-testid="dsr-list">
            <Table.Tbody>
              {(requests.data?.items ?? []).map((r: Json) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{dateTime(r.createdAt)}</Table.Td>
                  <Table.Td>{r.type}</Table.Td>
                  <Table.Td>{r.identifierType}</Table.Td>
                  <Table.Td>
                    <Badge color={r.status === 'completed' ? 'green' : r.status === 'running' ? 'blue' : 'orange'}>
                      {r.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{r.createdBy}</Table.Td>
                  <Table.Td>
                    <Code>{r.id}</Code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('overview.consents')}
        </Title>
        <ConsentTable consents={stats.data?.consents ?? []} />
      </Card>
      {can(me, 'audit.read') && (
        <Card withBorder>
          <Title order={4} mb="sm">
            {t('privacy.audit')}
          </Title>
          <Table data-testid="audit-log">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('privacy.at')}</Table.Th>
                <Table.Th>{t('privacy.actor')}</Table.Th>
                <Table.Th>{t('privacy.action')}</Table.Th>
                <Table.Th>{t('privacy.target')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(audit.data?.items ?? []).map((e: Json) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{dateTime(e.at)}</Table.Td>
                  <Table.Td>
                    <Code>{e.actor}</Code>
                  </Table.Td>
                  <Table.Td>
                    {e.action} <Badge size="xs">{e.status}</Badge>
                  </Table.Td>
                  <Table.Td>{e.profileId ?? e.target ?? ''}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
