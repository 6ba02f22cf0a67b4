/**
 * The demo storefront (`tessera demo`, `/demo/store`): a small shop page that tracks itself into Tessera with an
 * UNCHANGED analytics.js (`@segment/analytics-next`), loaded by Segment's standard snippet whose only edits are the
 * host it loads from (Tessera, which also answers the CDN settings and the tracking calls) and `analytics._cdn`.
 * Nothing on the page comes from elsewhere. A template, no build step: the server fills in the write key.
 */

/** What the server injects into the page. */
export interface StorefrontValues {
  /** The write key of the demo's `website` source. */
  writeKey: string;
  /** A fresh random value per answer, allowed by the page's Content-Security-Policy for its inline script and style. */
  nonce: string;
}

/** Escapes text for an HTML text node or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/**
 * A value as a JavaScript literal safe inside an inline `<script>`: JSON, with `<`, `>`, `&` and the two line
 * separators JavaScript once refused escaped, so no value can close the script element or break the literal.
 */
export function scriptLiteral(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The products of the demo shop (prices in euros). */
export const STOREFRONT_PRODUCTS = [
  { sku: 'SKU-TS-001', name: 'Mosaic Mug', price: 14.5, category: 'Kitchen' },
  { sku: 'SKU-TS-002', name: 'Tessera Tote Bag', price: 22, category: 'Accessories' },
  { sku: 'SKU-TS-003', name: 'Terracotta Planter', price: 39.9, category: 'Garden' },
  { sku: 'SKU-TS-004', name: 'Glass Tile Coasters (set of 4)', price: 18.75, category: 'Kitchen' },
] as const;

/** The Content-Security-Policy of the page: its own host only, the inline parts by nonce. */
export function storefrontCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const STYLE = `
  body { font: 16px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f4ef; }
  header { display: flex; justify-content: space-between; align-items: center; padding: 12px 24px;
    background: #23395b; color: #fff; }
  header h1 { font-size: 20px; margin: 0; }
  main { display: grid; grid-template-columns: 1fr 320px; gap: 24px; padding: 24px; max-width: 1100px; margin: auto; }
  .products { display: grid; grid-template-columns: repeat(2, 1fr); gap: 16px; list-style: none; margin: 0;
    padding: 0; }
  .product, .panel { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px #0002; }
  .product h3 { margin: 0 0 4px; font-size: 17px; }
  .price { font-weight: 600; margin: 8px 0; }
  button { background: #c8553d; color: #fff; border: 0; border-radius: 6px; padding: 8px 14px; font: inherit;
    cursor: pointer; }
  button:disabled { background: #aaa; cursor: default; }
  aside { display: flex; flex-direction: column; gap: 16px; }
  label { display: block; font-weight: 600; margin-bottom: 4px; }
  input { width: 100%; box-sizing: border-box; padding: 7px; margin-bottom: 8px; font: inherit; }
  #log { font: 12px/1.5 ui-monospace, monospace; margin: 0; padding-left: 18px; }
  .muted { color: #667; font-size: 14px; }
`;

/** The page's own script, after the snippet: the shop's buttons, each a Segment spec call. */
const SHOP_SCRIPT = `
  var cart = [];
  var logEl = document.getElementById('log');
  function record(label, result) {
    var li = document.createElement('li');
    li.textContent = label + ': sent';
    logEl.appendChild(li);
    if (result && typeof result.then === 'function')
      result.then(function (ctx) {
        var failed = ctx && typeof ctx.failedDelivery === 'function' && ctx.failedDelivery();
        li.textContent = label + (failed ? ': failed' : ': delivered');
        li.setAttribute('data-state', failed ? 'failed' : 'delivered');
      });
  }
  function euros(n) { return Math.round(n * 100) / 100; }
  function renderCart() {
    var total = euros(cart.reduce(function (s, l) { return s + l.price * l.quantity; }, 0));
    document.getElementById('cart-count').textContent = String(cart.reduce(function (s, l) { return s + l.quantity; }, 0));
    document.getElementById('cart-total').textContent = total.toFixed(2) + ' €';
    document.getElementById('buy').disabled = cart.length === 0;
    return total;
  }
  // A stable customer id for an e-mail, as the shop's own database would give (FNV-1a, enough for a demo).
  function customerId(email) {
    var h = 0x811c9dc5;
    for (var i = 0; i < email.length; i++) { h ^= email.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return 'shop-' + h.toString(16).padStart(8, '0');
  }
  document.querySelectorAll('[data-sku]').forEach(function (button) {
    button.addEventListener('click', function () {
      var p = PRODUCTS.find(function (x) { return x.sku === button.getAttribute('data-sku'); });
      var line = cart.find(function (l) { return l.sku === p.sku; });
      if (line) line.quantity += 1;
      else cart.push({ sku: p.sku, name: p.name, price: p.price, quantity: 1 });
      renderCart();
      record('track Product Added (' + p.name + ')', analytics.track('Product Added', {
        sku: p.sku, name: p.name, price: p.price, category: p.category, quantity: 1, currency: 'EUR'
      }));
    });
  });
  document.getElementById('login').addEventListener('submit', function (e) {
    e.preventDefault();
    var email = document.getElementById('email').value.trim().toLowerCase();
    if (!email) return;
    var userId = customerId(email);
    document.getElementById('who').textContent = 'Signed in as ' + email;
    record('identify ' + userId, analytics.identify(userId, { email: email }));
  });
  document.getElementById('buy').addEventListener('click', function () {
    var total = renderCart();
    var order = {
      orderId: 'WEB-' + Date.now().toString(36).toUpperCase(),
      total: total,
      currency: 'EUR',
      products: cart.slice()
    };
    cart = [];
    renderCart();
    record('track Order Completed (' + total.toFixed(2) + ' €)', analytics.track('Order Completed', order));
  });
  record('page (on load)');
  analytics.ready(function () { document.body.setAttribute('data-analytics', 'ready'); });
  renderCart();
`;

/**
 * Segment's standard analytics.js snippet (version 5.2.0), unminified, loading analytics.js from Tessera instead of
 * cdn.segment.com. `_cdn` tells analytics.js where its CDN is (the settings document, its lazily loaded chunks):
 * analytics.js only finds it from the script's address on https. A real website writes its Tessera URL for `TESSERA`.
 */
const SNIPPET = `
  !function () {
    var i = 'analytics', analytics = window[i] = window[i] || [];
    if (analytics.initialize) return;
    if (analytics.invoked) { window.console && console.error && console.error('Segment snippet included twice.'); return; }
    analytics.invoked = !0;
    analytics.methods = ['trackSubmit', 'trackClick', 'trackLink', 'trackForm', 'pageview', 'identify', 'reset',
      'group', 'track', 'ready', 'alias', 'debug', 'page', 'screen', 'once', 'off', 'on', 'addSourceMiddleware',
      'addIntegrationMiddleware', 'setAnonymousId', 'addDestinationMiddleware', 'register'];
    analytics.factory = function (e) {
      return function () {
        if (window[i].initialized) return window[i][e].apply(window[i], arguments);
        var n = Array.prototype.slice.call(arguments);
        if (['track', 'screen', 'alias', 'group', 'page', 'identify'].indexOf(e) > -1) {
          var c = document.querySelector("link[rel='canonical']");
          n.push({ __t: 'bpc', c: c && c.getAttribute('href') || void 0, p: location.pathname, u: location.href,
            s: location.search, t: document.title, r: document.referrer });
        }
        n.unshift(e);
        analytics.push(n);
        return analytics;
      };
    };
    for (var n = 0; n < analytics.methods.length; n++) {
      var key = analytics.methods[n];
      analytics[key] = analytics.factory(key);
    }
    analytics.load = function (key, n) {
      var t = document.createElement('script');
      t.type = 'text/javascript';
      t.async = !0;
      t.setAttribute('data-global-segment-analytics-key', i);
      t.src = TESSERA + '/analytics.js/v1/' + key + '/analytics.min.js';
      var r = document.getElementsByTagName('script')[0];
      r.parentNode.insertBefore(t, r);
      analytics._loadOptions = n;
    };
    analytics._writeKey = WRITE_KEY;
    analytics._cdn = TESSERA;
    analytics.SNIPPET_VERSION = '5.2.0';
    analytics.load(WRITE_KEY);
    analytics.page();
  }();
`;

/** The storefront's HTML. */
export function storefrontPage(values: StorefrontValues): string {
  const nonce = escapeHtml(values.nonce);
  const products = STOREFRONT_PRODUCTS.map(
    (p) => `
      <li class="product">
        <h3>${escapeHtml(p.name)}</h3>
        <div class="muted">${escapeHtml(p.category)} · ${escapeHtml(p.sku)}</div>
        <div class="price">${p.price.toFixed(2)} €</div>
        <button type="button" data-sku="${escapeHtml(p.sku)}" aria-label="Add ${escapeHtml(p.name)} to cart">Add to cart</button>
      </li>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tessera demo store</title>
  <link rel="icon" href="data:,">
  <style nonce="${nonce}">${STYLE}</style>
  <script nonce="${nonce}">
  var TESSERA = window.location.origin;
  var WRITE_KEY = ${scriptLiteral(values.writeKey)};
  ${SNIPPET}
  </script>
</head>
<body>
  <header><h1>Tessera demo store</h1><span>Cart: <span id="cart-count">0</span></span></header>
  <main>
    <section>
      <h2>Products</h2>
      <ul class="products">${products}
      </ul>
    </section>
    <aside>
      <form id="login" class="panel">
        <h2>Log in</h2>
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" autocomplete="email" required>
        <button type="submit">Log in</button>
        <p id="who" class="muted">Browsing anonymously</p>
      </form>
      <div class="panel">
        <h2>Cart</h2>
        <p>Total: <strong id="cart-total">0.00 €</strong></p>
        <button type="button" id="buy" disabled>Buy</button>
      </div>
      <div class="panel">
        <h2>Sent to Tessera</h2>
        <ol id="log" role="log"></ol>
        <p class="muted">analytics.js, unchanged, loaded from this Tessera server, which is also its CDN and API.</p>
      </div>
    </aside>
  </main>
  <script nonce="${nonce}">
  var PRODUCTS = ${scriptLiteral(STOREFRONT_PRODUCTS)};
  ${SHOP_SCRIPT}
  </script>
</body>
</html>
`;
}
