// app.js - hash routing and the frame (docs/console.md).
import { session, signOut } from './api.js';
import { dashboard } from './dashboard.js';
import { signin, epPicker, images, image, vulns, exporter } from './pages.js';
import { registries } from './registries.js';

const main = document.getElementById('main');
const go = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };

function route() {
  const [path, qs] = (location.hash.slice(1) || '/dashboard').split('?');
  const q = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  document.getElementById('nav').hidden = !session.token;
  if (!session.token) return signin(main, go);
  document.getElementById('nav-ep').textContent = `EP: ${session.ep}`;
  for (const a of document.querySelectorAll('#nav a'))
    if (path.startsWith(a.getAttribute('href').slice(1))) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  delete main.dataset.gen;
  switch (parts[0]) {
  case 'signin': return signin(main, go);
  case 'ep': return epPicker(main, go);
  case 'images': return images(main, go, q);
  case 'image': return image(main, go, q, parts[1], parts[2]);
  case 'vulns': return vulns(main, go, q);
  case 'export': return exporter(main, go);
  case 'registries': return registries(main, go);
  default: return dashboard(main, go);
  }
}

document.getElementById('signout').addEventListener('click', async () => { await signOut(); go('#/signin'); });
window.addEventListener('hashchange', route);
route();
