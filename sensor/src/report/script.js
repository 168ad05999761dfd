// OT Witness report: sortable and filterable tables. Written for this page; no library.
// Charts are plain SVG and need no script.
(function () {
  'use strict';

  function sortKey(cell) {
    if (!cell) {
      return '';
    }
    var key = cell.getAttribute('data-sort');
    return key !== null ? key : cell.textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a);
    var y = Number(b);
    if (a !== '' && b !== '' && !isNaN(x) && !isNaN(y)) {
      return x - y;
    }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
  }

  function sortTable(table, column, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = header.getAttribute('aria-sort') !== 'ascending';

    rows.sort(function (r1, r2) {
      var order = compare(sortKey(r1.cells[column]), sortKey(r2.cells[column]));
      return ascending ? order : -order;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute('aria-sort');
    });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }

  function filterTable(table, query, counter) {
    var needle = query.trim().toLowerCase();
    var rows = table.tBodies[0].rows;
    var shown = 0;

    Array.prototype.forEach.call(rows, function (row) {
      var match = needle === '' || row.textContent.toLowerCase().indexOf(needle) >= 0;
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    if (counter) {
      counter.textContent = needle === '' ? '' : shown + ' of ' + rows.length + ' rows';
    }
  }

  document.querySelectorAll('table.sortable').forEach(function (table) {
    if (table.tBodies[0].rows.length < 2) {
      return;
    }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.title = 'Sort by this column';
      th.addEventListener('click', function () {
        sortTable(table, column, th);
      });
      th.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          sortTable(table, column, th);
        }
      });
    });
  });

  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-table'));
    var counter = document.getElementById(input.getAttribute('data-table') + '-count');
    if (!table) {
      return;
    }
    input.addEventListener('input', function () {
      filterTable(table, input.value, counter);
    });
  });
})();
