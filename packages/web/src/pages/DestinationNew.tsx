import { Alert, Button, Card, Group, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useLocation } from 'wouter';
import { api, get, type Json } from '../api';
import { SchemaForm } from '../components/SchemaForm';
import { useI18n } from '../i18n';

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** A new destination (issue 8): the plugin's form generated from its schema, what it receives, then a test send. */
export function DestinationNew() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const client = useQueryClient();
  const types = useQuery<Json>({ queryKey: ['destination-types'], queryFn: () => get('/v1/destination-types') });
  const [type, setType] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [config, setConfig] = useState<Record<string, unknown>>({});
  const [events, setEvents] = useState('');
  const [audiences, setAudiences] = useState('*');
  const [profiles, setProfiles] = useState(false);
  const plugin = (types.data?.items ?? []).find((p: Json) => p.type === type);
  const create = useMutation<Json>({
    mutationFn: () =>
      api('POST', '/v1/destinations', {
        name,
        type,
        config,
        subscription: {
          ...(events ? { events: { names: list(events) } } : {}),
          ...(audiences ? { audiences: list(audiences) } : {}),
          ...(profiles ? { profiles: true } : {}),
        },
      }),
  });
  const test = useMutation<Json>({ mutationFn: () => api('POST', `/v1/destinations/${create.data?.id}/test`, {}) });
  return (
    <Stack>
      <Title order={2}>{t('destinations.new')}</Title>
      <Card withBorder>
        <Stack>
          <Select
            label={t('destinations.type')}
            value={type}
            onChange={(v) => {
              setType(v);
              setConfig({});
            }}
            data={(types.data?.items ?? []).map((p: Json) => ({ value: p.type, label: p.title ?? p.type }))}
          />
          {plugin && (
            <Text size="sm" c="dimmed">
              {plugin.description}
            </Text>
          )}
          <TextInput label={t('destinations.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          {plugin && <SchemaForm schema={plugin.configSchema} value={config} onChange={setConfig} />}
          <TextInput
            label={t('destinations.events')}
            description={t('destinations.eventsHelp')}
            value={events}
            onChange={(e) => setEvents(e.currentTarget.value)}
          />
          <TextInput
            label={t('destinations.audiences')}
            description={t('destinations.audiencesHelp')}
            value={audiences}
            onChange={(e) => setAudiences(e.currentTarget.value)}
          />
          <Switch
            label={t('destinations.profiles')}
            checked={profiles}
            onChange={(e) => setProfiles(e.currentTarget.checked)}
          />
          {create.isError && <Alert color="red">{create.error.message}</Alert>}
          {!create.data && (
            <Group>
              <Button disabled={!type || !name} loading={create.isPending} onClick={() => create.mutate()}>
                {t('destinations.create')}
              </Button>
            </Group>
          )}
          {create.data && (
            <Alert color="green">
              {t('destinations.created')}
              <Group mt="sm">
                <Button variant="light" loading={test.isPending} onClick={() => test.mutate()}>
                  {t('destinations.test')}
                </Button>
                <Button
                  variant="subtle"
                  onClick={async () => {
                    await client.invalidateQueries({ queryKey: ['destinations'] });
                    navigate('/destinations');
                  }}
                >
                  {t('destinations.back')}
                </Button>
              </Group>
            </Alert>
          )}
          {test.data && (
            <Alert color={test.data.status === 'ok' ? 'green' : 'orange'} data-testid="test-send">
              {t('destinations.testResult', {
                status: test.data.status,
                http: test.data.httpStatus ?? '—',
                ms: test.data.latencyMs,
              })}
              {test.data.reason ? ` · ${test.data.reason}` : ''}
            </Alert>
          )}
          {test.isError && <Alert color="red">{test.error.message}</Alert>}
        </Stack>
      </Card>
    </Stack>
  );
}
