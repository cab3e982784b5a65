// The admin page (admin role): define a product (with its low-stock alert
// threshold), restock, ship (with a tracking number) and deliver orders.
// The API checks the role; the page only hides itself from others.

import { run } from './commands.js';
import { $, clearFieldErrors, intOrRaw, setStatus, shortId, showFieldErrors, wholeNumberErrors } from './dom.js';

/** init wires the three forms. */
export function init() {
  $('#admin-define-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    const body = { sku: f.sku.value.trim(), name: f.name.value.trim(), priceCents: intOrRaw(f.priceCents.value), stock: intOrRaw(f.stock.value) };
    if (f.lowStockThreshold.value.trim()) body.lowStockThreshold = intOrRaw(f.lowStockThreshold.value);
    const res = await run({
      label: `Define product ${f.sku.value.trim() || '?'}`,
      method: 'POST',
      path: '/api/products',
      body,
      invalid: wholeNumberErrors({ priceCents: f.priceCents.value, stock: f.stock.value, lowStockThreshold: f.lowStockThreshold.value }),
      form,
    });
    if (res.ok) {
      form.reset();
      f.sku.focus();
    }
  });

  $('#admin-restock-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    const sku = f.sku.value.trim();
    if (!required(form, 'sku', sku)) return;
    const res = await run({
      label: `Restock ${sku}`,
      method: 'POST',
      path: `/api/products/${encodeURIComponent(sku)}/restock`,
      body: { quantity: intOrRaw(f.quantity.value) },
      invalid: wholeNumberErrors({ quantity: f.quantity.value }),
      form,
    });
    if (res.ok) f.quantity.value = '';
  });

  $('#admin-order-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const action = ev.submitter && ev.submitter.value === 'deliver' ? 'deliver' : 'ship';
    const id = form.elements.orderId.value.trim();
    if (!required(form, 'orderId', id)) return;
    const tracking = form.elements.trackingNumber.value.trim();
    await run({
      label: `${action === 'ship' ? 'Ship' : 'Deliver'} order ${shortId(id)}`,
      method: 'POST',
      path: `/api/orders/${encodeURIComponent(id)}/${action}`,
      body: action === 'ship' && tracking ? { trackingNumber: tracking } : {},
      form,
    });
  });
}

// required shows "is required" next to an empty field that goes into the
// path (an empty path segment would be another route, not a field error).
function required(form, field, value) {
  if (value) return true;
  clearFieldErrors(form);
  showFieldErrors(form, [{ field, message: 'is required' }]);
  setStatus($('[data-role="status"]', form), 'Not sent: fill in the highlighted field.', 'error');
  return false;
}
