package vault

import (
	"context"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/webhook"
)

// PendingDeliveries returns up to limit webhook events not yet delivered (purge warnings
// and purge notices), oldest first: the console shows them per vault.
func (s *Service) PendingDeliveries(ctx context.Context, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		out, err = webhook.Pending(tx, 0, limit)
		return err
	})
	return out, err
}
