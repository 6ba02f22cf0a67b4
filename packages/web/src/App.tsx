import { Center, Loader } from '@mantine/core';
import { Route, Switch } from 'wouter';
import { useMe } from './auth';
import { Layout } from './components/Layout';
import { Audience } from './pages/Audience';
import { AudienceBuilder } from './pages/AudienceBuilder';
import { Audiences } from './pages/Audiences';
import { DestinationNew } from './pages/DestinationNew';
import { Destinations } from './pages/Destinations';
import { IdentityReview } from './pages/IdentityReview';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { Privacy } from './pages/Privacy';
import { Profile } from './pages/Profile';
import { Profiles } from './pages/Profiles';
import { Settings } from './pages/Settings';
import { Sources } from './pages/Sources';

export function App() {
  const me = useMe();
  if (me.isPending)
    return (
      <Center h="100vh">
        <Loader />
      </Center>
    );
  const user = me.data;
  if (!user) return <Login />;
  return (
    <Layout me={user}>
      <Switch>
        <Route path="/profiles/:id">{(p) => <Profile id={p.id} me={user} />}</Route>
        <Route path="/profiles" component={Profiles} />
        <Route path="/audiences/new" component={AudienceBuilder} />
        <Route path="/audiences/:key">{(p) => <Audience audienceKey={p.key} />}</Route>
        <Route path="/audiences" component={Audiences} />
        <Route path="/sources">
          <Sources me={user} />
        </Route>
        <Route path="/identity">
          <IdentityReview me={user} />
        </Route>
        <Route path="/privacy">
          <Privacy me={user} />
        </Route>
        <Route path="/settings">
          <Settings me={user} />
        </Route>
        <Route path="/destinations/new" component={DestinationNew} />
        <Route path="/destinations">
          <Destinations me={user} />
        </Route>
        <Route>
          <Overview me={user} />
        </Route>
      </Switch>
    </Layout>
  );
}
